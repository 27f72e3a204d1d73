-- Detection finds a key's profile row where it last saw it (the shared
-- vigil.profile_location_cache) before it asks the primary key.  That is
-- only a hint: rows that moved, positions that now hold another key's row
-- or lie past the end of a table VACUUM shrank, and updates that are not
-- HOT must all leave every profile exactly as the index alone would.  (The
-- cache exists when vigil is preloaded, as make test runs it; without it
-- every lookup goes to the index and this suite must pass all the same.)
SET timezone = 'UTC';
CREATE EXTENSION vigil;
CREATE EXTENSION amcheck;

CREATE TABLE loc (id int PRIMARY KEY, card text, amount float8, ts timestamptz);
SELECT vigil.watch('loc', 'card', 'amount', 'ts');
-- A row for each of cards c1 .. cN, one statement each, as an application
-- inserts them.
CREATE PROCEDURE one_by_one(first_id int, cards int, amount float8, day timestamptz)
	LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..cards LOOP
		INSERT INTO loc VALUES (first_id + i, 'c' || i, amount, day + i * interval '1 s');
	END LOOP;
END
$$;

-- The profiles of 3,000 cards, then a second row for each, one
-- statement per card: these find their rows through the positions the
-- first ones left.
INSERT INTO loc SELECT i, 'c' || i, 10, timestamptz '2026-11-01' + i * interval '1 s'
FROM generate_series(1, 3000) i;
CALL one_by_one(3000, 3000, 11, '2026-11-02');
SELECT (vigil.profile_json(profile) ->> 'n')::int AS n, count(*) FROM vigil.profiles GROUP BY 1;

-- CLUSTER puts the rows in key order ('c1', 'c10', 'c100', ...), so most
-- remembered positions now hold another card's row.
CLUSTER vigil.profiles USING profiles_pkey;
INSERT INTO loc SELECT 6000 + i, 'c' || i, 12, timestamptz '2026-11-03' + i * interval '1 s'
FROM generate_series(1, 3000) i;
SELECT (vigil.profile_json(profile) ->> 'n')::int AS n, count(*) FROM vigil.profiles GROUP BY 1;
SELECT count(*) AS differences FROM vigil.verify('loc');

-- Deleting the profiles at the end of the table lets VACUUM cut its last
-- pages off; those cards' positions now lie past its end.  Their next rows
-- start new profiles, without an error.
SELECT pg_relation_size('vigil.profiles') AS size_before \gset
DELETE FROM vigil.profiles WHERE key >= 'c5';
VACUUM vigil.profiles;
SELECT pg_relation_size('vigil.profiles') < :size_before AS shrank;
CALL one_by_one(9000, 3000, 13, '2026-11-04');
SELECT key >= 'c5' AS deleted, (vigil.profile_json(profile) ->> 'n')::int AS n, count(*)
FROM vigil.profiles GROUP BY 1, 2 ORDER BY 1, 2;

-- An index on updated_at makes every update a new chain with entries in
-- both indexes; amcheck finds every row in each index, and the rows are
-- found again.
CREATE INDEX profiles_updated_at ON vigil.profiles (updated_at);
INSERT INTO loc SELECT 12000 + i, 'c' || i, 14, timestamptz '2026-11-05' + i * interval '1 s'
FROM generate_series(1, 3000) i;
CALL one_by_one(15000, 100, 15, '2026-11-06');
SELECT bt_index_check('vigil.profiles_pkey', true), bt_index_check('vigil.profiles_updated_at', true);
SELECT key >= 'c5' AS deleted, (vigil.profile_json(profile) ->> 'n')::int AS n, count(*)
FROM vigil.profiles GROUP BY 1, 2 ORDER BY 1, 2;
DROP INDEX vigil.profiles_updated_at;

-- TRUNCATE gives the table a new file: every position is stale, and every
-- card starts again.
TRUNCATE vigil.profiles;
INSERT INTO loc VALUES (20000, 'c1', 16, '2026-11-07');
INSERT INTO loc VALUES (20001, 'c1', 17, '2026-11-08');
SELECT key, vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles;

-- A column someone added to vigil.profiles, with a default: a card that
-- has a profile is still updated in place, keeping its value, and a new
-- card's profile goes in through the INSERT statement, which fills the
-- default in.  Once the column is dropped, new cards' profiles are
-- inserted directly again.
ALTER TABLE vigil.profiles ADD COLUMN note text DEFAULT 'by default';
INSERT INTO loc VALUES (20002, 'c1', 18, '2026-11-09');
INSERT INTO loc VALUES (20003, 'added-1', 18, '2026-11-09');
SELECT key, note, vigil.profile_json(profile) ->> 'n' AS n
FROM vigil.profiles WHERE key IN ('added-1', 'c1') ORDER BY key;
ALTER TABLE vigil.profiles DROP COLUMN note;
INSERT INTO loc VALUES (20004, 'added-2', 19, '2026-11-10');
SELECT key, vigil.profile_json(profile) ->> 'n' AS n
FROM vigil.profiles WHERE key LIKE 'added-%' ORDER BY key;

DROP TABLE loc;
DROP PROCEDURE one_by_one;
DROP EXTENSION amcheck;
DROP EXTENSION vigil;
