-- vigil.verify: the stored profiles against profiles rebuilt from the
-- table's rows.  Nothing to report after inserts of every kind that kept
-- each key's rows in time order; each kind of difference after the profiles
-- or the rows were changed behind detection's back; what it needs and what
-- it refuses; it changes nothing.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE EXTENSION vigil;

-- The outcome of a statement: 'ok', or its SQLSTATE and message.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

CREATE TABLE txn (
	id bigint PRIMARY KEY,
	card text,
	amount numeric(12, 2),
	ts timestamptz,
	lat float8,
	lon float8,
	merchant text,
	category text
);
SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category') > 0 AS watched;

-- Every way of inserting, each card's rows in time order from one statement
-- to the next: single-row INSERTs, a multi-row INSERT whose rows are out of
-- order within the statement (detection sorts them, as the rebuild does),
-- two rows of one card at the same time in one statement (both fold them in
-- arrival order), INSERT ... SELECT and COPY.
DO $$
BEGIN
	FOR i IN 1..12 LOOP
		INSERT INTO txn VALUES (i, 'card-a', 40 + i % 5, timestamptz '2026-11-01 12:00' + i * interval '1 day',
								51.5, -0.12, 'grocer', 'food');
	END LOOP;
END$$;
INSERT INTO txn VALUES
	(13, 'card-b', 25.00, '2026-11-03 09:00', NULL, NULL, 'cafe', 'food'),
	(14, 'card-a', 43.00, '2026-11-14 12:00', 51.5, -0.12, 'grocer', 'food'),
	(15, 'card-b', 20.00, '2026-11-02 09:00', NULL, NULL, 'cafe', 'food'),
	(16, 'card-a', 900.00, '2026-11-14 11:00', 48.85, 2.35, 'jeweller', 'luxury'),
	(17, 'card-b', 30.00, '2026-11-02 09:00', NULL, NULL, 'bakery', 'food');
INSERT INTO txn
SELECT 100 + i, 'card-' || chr(99 + i % 3), 10 + i % 7, timestamptz '2026-11-15' + i * interval '1 hour',
	   NULL, NULL, 'shop-' || i % 4, 'retail'
FROM generate_series(1, 30) i;
COPY txn FROM stdin;
200	card-a	41.00	2026-11-20 12:00:00+00	51.5	-0.12	grocer	food
201	card-f	99.99	2026-11-20 13:00:00+00	\N	\N	\N	\N
202	card-b	22.50	2026-11-20 14:00:00+00	\N	\N	cafe	food
\.
-- A row detection skips (NULL amount) is skipped by the rebuild too.
INSERT INTO txn VALUES (203, 'card-g', NULL, '2026-11-20 15:00', NULL, NULL, NULL, NULL);
SELECT count(*) AS profiles, (SELECT count(*) FROM vigil.skipped) AS skipped FROM vigil.profiles;
SELECT * FROM vigil.verify('txn');

-- It only reads: it runs in a read-only transaction, and the profiles are
-- as they were.
CREATE TABLE saved AS SELECT key, profile::text FROM vigil.profiles;
BEGIN READ ONLY;
SELECT count(*) AS differences FROM vigil.verify('txn');
COMMIT;
SELECT count(*) AS changed FROM (SELECT key, profile::text FROM vigil.profiles EXCEPT SELECT * FROM saved) x;
SELECT provolatile, proretset FROM pg_proc WHERE oid = 'vigil.verify'::regproc;

-- Damage to the stored profiles, one key each: a profile set to NULL and a
-- profile row deleted (both "no_profile": detection would start that key
-- from nothing), another key's profile copied over (differs), and a profile
-- for a key that has no rows (no_rows).
UPDATE vigil.profiles SET profile = NULL WHERE key = 'card-c';
DELETE FROM vigil.profiles WHERE key = 'card-d';
UPDATE vigil.profiles SET profile = (SELECT profile FROM vigil.profiles WHERE key = 'card-e')
WHERE key = 'card-b';
INSERT INTO vigil.profiles (watch_id, key, profile)
SELECT watch_id, 'card-z', profile FROM vigil.profiles WHERE key = 'card-a';
SELECT key, status, differences, stored ->> 'n' AS stored_n, rebuilt ->> 'n' AS rebuilt_n
FROM vigil.verify('txn') ORDER BY key;
-- What a person sees of the profile that differs.
SELECT stored, rebuilt FROM vigil.verify('txn') WHERE key = 'card-b';
-- A NULL profile of a key that has no rows is no profile either: nothing
-- to report.
UPDATE vigil.profiles SET profile = NULL WHERE key = 'card-z';
SELECT count(*) AS reported FROM vigil.verify('txn') WHERE key = 'card-z';

-- vigil.rebuild repairs it all.
SELECT vigil.rebuild('txn', NULL) AS rebuilt_profiles;
SELECT * FROM vigil.verify('txn');

-- Changes to the rows that detection does not see: an UPDATE of an amount
-- and a DELETE of a card's rows.
UPDATE txn SET amount = 45 WHERE id = 14;
DELETE FROM txn WHERE card = 'card-f';
SELECT key, status, differences FROM vigil.verify('txn') ORDER BY key;
SELECT vigil.rebuild('txn', NULL) AS rebuilt_profiles;

-- A row that arrives late (earlier than its card's last row, in a later
-- statement) is folded last by detection but in time order by the rebuild:
-- the profiles differ.  That is the condition for exactness: each key's
-- rows inserted in time order.
INSERT INTO txn VALUES (300, 'card-a', 44.00, '2026-11-10 12:30', 51.5, -0.12, 'grocer', 'food');
SELECT key, status, differences, (stored ->> 'n') = (rebuilt ->> 'n') AS same_n,
	   stored ->> 'last_time' AS stored_last, rebuilt ->> 'last_time' AS rebuilt_last
FROM vigil.verify('txn');
SELECT vigil.rebuild('txn', NULL) AS rebuilt_profiles;

-- After a rebuild from a time on, verify from the same time: verifying all
-- rows reports the older ones as missing from the profiles.
SELECT vigil.rebuild('txn', '2026-11-15 12:00') AS rebuilt_profiles;
SELECT count(*) AS since_then FROM vigil.verify('txn', '2026-11-15 12:00');
SELECT key, status, (rebuilt ->> 'n')::int - coalesce((stored ->> 'n')::int, 0) AS rows_not_in_profile
FROM vigil.verify('txn') ORDER BY key;
SELECT vigil.rebuild('txn', NULL) AS rebuilt_profiles;

-- Many keys (more than one batch of the rebuild's writes and of verify's
-- reads), in one statement.
CREATE TABLE many (id int PRIMARY KEY, card int, amount int, ts bigint);
SELECT vigil.watch('many', 'card', 'amount', 'ts') AS many_watch \gset
INSERT INTO many SELECT i, i % 2500, 10 + i % 7, 1763640000 + i FROM generate_series(1, 7500) i;
SELECT count(*) AS profiles FROM vigil.profiles WHERE watch_id = :many_watch;
SELECT count(*) AS differences FROM vigil.verify('many');
SELECT vigil.rebuild('many', NULL) AS rebuilt_profiles;
SELECT count(*) AS differences FROM vigil.verify('many');
-- Keys are merged in the byte order of their text ('10' < '9'); one damaged
-- key in the middle is the only one reported.
UPDATE vigil.profiles SET profile = (SELECT profile FROM vigil.profiles WHERE watch_id = :many_watch AND key = '1')
WHERE watch_id = :many_watch AND key = '1234';
SELECT key, status, differences FROM vigil.verify('many');

-- Keys are the text detection keeps profiles under, the key type's output:
-- for inet that is not what a cast to text gives ('10.0.0.1' against
-- '10.0.0.1/32'), which would sort the two keys below the other way round.
CREATE TABLE nets (id int PRIMARY KEY, addr inet, amount int, ts bigint);
SELECT vigil.watch('nets', 'addr', 'amount', 'ts') > 0 AS watched;
INSERT INTO nets VALUES (1, '10.0.0.1', 5, 1763640000), (2, '10.0.0.1/16', 6, 1763640001),
						(3, '10.0.0.1', 7, 1763640002);
SELECT key FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'nets'::regclass ORDER BY key;
SELECT count(*) AS differences FROM vigil.verify('nets');

-- Errors.
CREATE TABLE unwatched (id int PRIMARY KEY);
CREATE VIEW txn_view AS SELECT * FROM txn;
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('NULL', $$SELECT * FROM vigil.verify(NULL)$$),
	('no relation has the OID', $$SELECT * FROM vigil.verify(4294967295)$$),
	('an index', $$SELECT * FROM vigil.verify('txn_pkey')$$),
	('a view', $$SELECT * FROM vigil.verify('txn_view')$$),
	('a table not watched', $$SELECT * FROM vigil.verify('unwatched')$$),
	('since NULL is every row', $$SELECT * FROM vigil.verify('txn', NULL)$$)
) v(name, stmt);

-- It reads the table as its caller, who needs SELECT on it and on the
-- stored profiles, and every row: row-level security that applies to the
-- caller is refused rather than misreported.
CREATE ROLE vigil_verifier;
GRANT USAGE ON SCHEMA vigil TO vigil_verifier;
SET ROLE vigil_verifier;
SELECT try($$SELECT * FROM vigil.verify('txn')$$) AS without_select;
RESET ROLE;
GRANT SELECT ON txn TO vigil_verifier;
SET ROLE vigil_verifier;
SELECT try($$SELECT * FROM vigil.verify('txn')$$) AS without_profiles;
RESET ROLE;
GRANT SELECT ON vigil.profiles TO vigil_verifier;
SET ROLE vigil_verifier;
SELECT count(*) AS differences FROM vigil.verify('txn');
RESET ROLE;
ALTER TABLE txn ENABLE ROW LEVEL SECURITY;
CREATE POLICY some_cards ON txn FOR SELECT TO vigil_verifier USING (card = 'card-a');
SET ROLE vigil_verifier;
SELECT try($$SELECT * FROM vigil.verify('txn')$$) AS row_security;
RESET ROLE;
-- (the owner is not subject to it)
SELECT count(*) AS differences FROM vigil.verify('txn');

DROP TABLE txn, saved, many, nets, unwatched CASCADE;
DROP OWNED BY vigil_verifier;
DROP ROLE vigil_verifier;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
