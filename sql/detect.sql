-- Detection: what a watched table's inserts do to profiles, alerts and
-- skipped rows, under every way of inserting, and what they must not do.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE txn (
	id bigint PRIMARY KEY,
	card text,
	amount numeric(12, 2),
	ts timestamptz,
	lat float8,
	lon float8,
	merchant text
);
SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant') > 0 AS watched;
-- Every located row here is paid in person: impossible travel on (a watch
-- without a card-present column has it off).
UPDATE vigil.rules SET enabled = true WHERE name = 'impossible_travel';

-- A card's usual spending: 20 transactions around 40.00 at one merchant, in
-- London, one a day at noon.  Single-row inserts, one statement each.
DO $$
BEGIN
	FOR i IN 1..20 LOOP
		INSERT INTO txn VALUES (i, 'card-a', 40 + (i % 5) - 2,
								timestamptz '2026-11-01 12:00+00' + i * interval '1 day',
								51.5, -0.12, 'grocer');
	END LOOP;
END$$;
SELECT key, (j ->> 'n')::int AS n, round((j ->> 'mean')::numeric, 2) AS mean,
	   round((j ->> 'stddev')::numeric, 4) AS stddev, j ->> 'last_time' AS last_time,
	   j ->> 'merchants_seen' AS merchants
FROM vigil.profiles, vigil.profile_json(profile) j;
SELECT count(*) AS alerts FROM vigil.alerts;

-- A spike: 900.00 the next day.  Scored against the profile before it.
INSERT INTO txn VALUES (21, 'card-a', 900, '2026-11-22 12:00+00', 51.5, -0.12, 'grocer');
SELECT id, relation, row_ref, key, amount, event_time, round(score::numeric, 3) AS score, fired,
	   status, attempts
FROM vigil.alerts;
SELECT e ->> 'rule' AS rule, round((e ->> 'observed')::numeric, 2) AS observed,
	   (e ->> 'expected')::numeric AS expected, e ->> 'why' AS why
FROM vigil.alerts, jsonb_array_elements(explanation) e ORDER BY 1;

-- Impossible travel: New York an hour later.
INSERT INTO txn VALUES (22, 'card-a', 41, '2026-11-22 13:00+00', 40.71, -74.0, 'grocer');
SELECT row_ref, fired FROM vigil.alerts WHERE row_ref = '{"id": 22}';

-- A new card's first transactions never trigger amount rules, however
-- large: there is no history to compare with.
INSERT INTO txn VALUES (100, 'card-new', 5, '2026-11-20 10:00+00', NULL, NULL, 'shop'),
					   (101, 'card-new', 4000, '2026-11-20 11:00+00', NULL, NULL, 'shop');
SELECT count(*) AS new_card_alerts FROM vigil.alerts WHERE key = 'card-new';
SELECT count(*) AS history_rule_alerts_on_new_cards FROM vigil.alerts
WHERE key = 'card-new' AND fired && '{amount_zscore,amount_ratio}';

-- Multi-row INSERT, INSERT ... SELECT and COPY: one trigger call per
-- statement; within it rows are processed by (key, time, arrival), so a
-- batch given out of time order gives the same profile as one in order.
CREATE TABLE txn_copy (LIKE txn INCLUDING ALL);
SELECT vigil.watch('txn_copy', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO txn_copy SELECT id, 'card-b', 10 + id % 3, timestamptz '2026-11-01' + id * interval '1 hour'
FROM generate_series(30, 1, -1) id;
COPY txn_copy (id, card, amount, ts) FROM stdin;
31	card-c	10.00	2026-11-02 10:00:00+00
32	card-c	11.00	2026-11-02 09:00:00+00
33	card-b	12.00	2026-11-03 00:00:00+00
\.
SELECT key, j ->> 'n' AS n, round((j ->> 'mean')::numeric, 4) AS mean, j ->> 'last_time' AS last_time
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id, vigil.profile_json(profile) j
WHERE w.relation = 'txn_copy'::regclass ORDER BY key;

-- Rows that cannot be scored are recorded with the reason, and never touch
-- a profile.
INSERT INTO txn VALUES (200, NULL, 10, '2026-11-23 10:00+00'),
					   (201, 'card-a', NULL, '2026-11-23 10:00+00'),
					   (202, 'card-a', 10, NULL),
					   (203, 'card-a', 'NaN', '2026-11-23 10:00+00');
SELECT row_ref, reason FROM vigil.skipped ORDER BY row_ref ->> 'id';
SELECT rows_skipped FROM vigil.watch_columns WHERE relation = 'txn'::regclass;
SELECT vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles WHERE key = 'card-a';

-- ROLLBACK, and a rolled-back savepoint, leave no trace.
BEGIN;
INSERT INTO txn VALUES (300, 'card-a', 5000, '2026-11-24 12:00+00', 51.5, -0.12, 'grocer');
ROLLBACK;
BEGIN;
SAVEPOINT s;
INSERT INTO txn VALUES (301, 'card-a', 5000, '2026-11-24 12:00+00', 51.5, -0.12, 'grocer');
ROLLBACK TO s;
COMMIT;
SELECT vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles WHERE key = 'card-a';
SELECT count(*) AS alerts_for_rolled_back_rows FROM vigil.alerts
WHERE row_ref ->> 'id' IN ('300', '301');

-- UPDATE and DELETE of watched rows do not change profiles.
UPDATE txn SET amount = 1 WHERE id = 5;
DELETE FROM txn WHERE id = 6;
SELECT vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles WHERE key = 'card-a';

-- A rule change takes effect on the next statement.
UPDATE vigil.rules SET enabled = false
WHERE watch_id = (SELECT id FROM vigil.watches WHERE relation = 'txn'::regclass);
INSERT INTO txn VALUES (400, 'card-a', 9000, '2026-11-25 12:00+00', 51.5, -0.12, 'grocer');
SELECT count(*) AS alerts_with_rules_off FROM vigil.alerts WHERE row_ref = '{"id": 400}';
UPDATE vigil.rules SET enabled = true
WHERE watch_id = (SELECT id FROM vigil.watches WHERE relation = 'txn'::regclass);

-- Partitioned tables: rows routed to partitions are detected once, at the
-- parent.
CREATE TABLE ptxn (id int, card text, amount float8, ts timestamptz, PRIMARY KEY (id, ts))
	PARTITION BY RANGE (ts);
CREATE TABLE ptxn_1 PARTITION OF ptxn FOR VALUES FROM ('2026-01-01') TO ('2026-07-01');
CREATE TABLE ptxn_2 PARTITION OF ptxn FOR VALUES FROM ('2026-07-01') TO ('2027-01-01');
SELECT vigil.watch('ptxn', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO ptxn SELECT i, 'card-p', 20, timestamptz '2026-06-28' + i * interval '1 day'
FROM generate_series(1, 6) i;
SELECT key, vigil.profile_json(profile) ->> 'n' AS n
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'ptxn'::regclass;

-- Alerts and skipped rows carry their row's primary key, here of two
-- columns, and of a text column below, read from the transition table again
-- for the rows flagged: the 3rd, 4th and 5th of the statement, and the 2nd.
INSERT INTO ptxn VALUES (7, 'card-q', 10, '2026-06-01'), (8, 'card-q', NULL, '2026-06-01 01:00'),
						(9, 'card-q', 6000, '2026-06-01 02:00'), (10, 'card-q', 20, '2026-06-01 03:00'),
						(11, 'card-r', 7000, '2026-08-01');
SELECT row_ref, fired FROM vigil.alerts WHERE relation = 'ptxn'::regclass ORDER BY id;
SELECT row_ref, reason FROM vigil.skipped WHERE relation = 'ptxn'::regclass;
CREATE TABLE ttxn (ref text PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('ttxn', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO ttxn VALUES ('a-1', 'c', 10, '2026-06-01'), ('a-2', 'c', 9000, '2026-06-01 01:00'),
						('a-3', 'c', 10, '2026-06-01 02:00'), ('a"4', NULL, 10, '2026-06-01 03:00');
SELECT row_ref, fired FROM vigil.alerts WHERE relation = 'ttxn'::regclass ORDER BY id;
SELECT row_ref, reason FROM vigil.skipped WHERE relation = 'ttxn'::regclass;

-- Integer epoch seconds as the time column.
CREATE TABLE etxn (id int PRIMARY KEY, card int, cents int, at bigint);
SELECT vigil.watch('etxn', 'card', 'cents', 'at') > 0 AS watched;
INSERT INTO etxn VALUES (1, 7, 1000, 1763640000);
SELECT key, vigil.profile_json(profile) ->> 'last_time' AS last_time
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'etxn'::regclass;

-- replay scores history as live insertion did (rows inserted in time
-- order), without touching live profiles or alerts.
CREATE TABLE live AS SELECT row_ref, round(score::numeric, 12) AS score, fired FROM vigil.alerts
	WHERE relation = 'txn'::regclass AND row_ref ->> 'id' NOT IN ('400');
SELECT count(*) AS live_alerts FROM live;
-- (undo the UPDATE and DELETE above, and remove the row scored with the
-- rules off, so the table holds what live detection saw)
UPDATE txn SET amount = 38 WHERE id = 5;
INSERT INTO txn VALUES (6, 'card-a', 39, '2026-11-07 12:00+00', 51.5, -0.12, 'grocer');
DELETE FROM txn WHERE id = 400;
CREATE TABLE replayed AS
SELECT row_ref, round(score::numeric, 12) AS score, fired FROM vigil.replay('txn')
	WHERE score >= 0.5;
SELECT (SELECT count(*) FROM replayed) AS replayed_alerts,
	   (SELECT count(*) FROM (SELECT * FROM live EXCEPT SELECT * FROM replayed) x) AS only_live,
	   (SELECT count(*) FROM (SELECT * FROM replayed EXCEPT SELECT * FROM live) x) AS only_replayed;
SELECT count(*) AS replay_rows, count(*) FILTER (WHERE fired = '{}') AS quiet_rows
FROM vigil.replay('txn', '2026-11-05', '2026-11-10');

-- rebuild recomputes the live profiles from history.
SELECT vigil.profile_json(profile) ->> 'n' AS n_before FROM vigil.profiles WHERE key = 'card-a';
SELECT vigil.rebuild('txn', '2026-11-10');
SELECT vigil.profile_json(profile) ->> 'n' AS n_after FROM vigil.profiles WHERE key = 'card-a';
SELECT vigil.rebuild('txn', NULL);
SELECT vigil.profile_json(profile) ->> 'n' AS n_all FROM vigil.profiles WHERE key = 'card-a';

-- An application role with only INSERT on its table gets detection and
-- cannot read or change vigil's tables.
CREATE ROLE vigil_app;
GRANT INSERT ON txn TO vigil_app;
SET ROLE vigil_app;
INSERT INTO txn VALUES (500, 'card-a', 7000, '2026-11-26 12:00+00', 51.5, -0.12, 'grocer');
SELECT count(*) FROM vigil.alerts;
SELECT count(*) FROM vigil.profiles;
UPDATE vigil.rules SET enabled = false;
RESET ROLE;
SELECT count(*) AS app_alerts FROM vigil.alerts WHERE row_ref = '{"id": 500}';

-- replay reads the table as its caller: it needs SELECT on it (and reads
-- the rules as their owner, so it needs nothing on vigil's tables).
GRANT USAGE ON SCHEMA vigil TO vigil_app;
SET ROLE vigil_app;
SELECT count(*) FROM vigil.replay('txn');
RESET ROLE;
GRANT SELECT ON txn TO vigil_app;
SET ROLE vigil_app;
SELECT count(*) AS replayed_rows, count(*) FILTER (WHERE score >= 0.5) AS would_alert
FROM vigil.replay('txn');
RESET ROLE;

-- replay reads vigil's tables as their owner: a caller's search_path must
-- not slip its own operators into those queries (this one would announce
-- itself with a NOTICE, running as the owner).
CREATE SCHEMA sneaky AUTHORIZATION vigil_app;
SET ROLE vigil_app;
CREATE FUNCTION sneaky.eq(int, int) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'sneaky operator ran as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR sneaky.= (LEFTARG = int, RIGHTARG = int, FUNCTION = sneaky.eq);
CREATE FUNCTION sneaky.eq(regclass, regclass) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'sneaky operator ran as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR sneaky.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = sneaky.eq);
SET search_path = sneaky, pg_catalog;
SELECT count(*) AS replayed_rows FROM vigil.replay('public.txn');
RESET search_path;
RESET ROLE;
DROP SCHEMA sneaky CASCADE;
REVOKE USAGE ON SCHEMA vigil FROM vigil_app;

-- Numeric amounts are read as the same doubles numeric::float8 gives, for
-- every scale and magnitude (small decimals take a fast path, the rest the
-- exact one).
CREATE TABLE numtxn (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
INSERT INTO numtxn
SELECT i, 'c' || (i % 100),
	   CASE i % 6
	   WHEN 0 THEN round((i * 7919 % 100000)::numeric / 100, 2)
	   WHEN 1 THEN round((i * 104729 % 1000000007)::numeric / 1000, i % 20)
	   WHEN 2 THEN (i::numeric * 12345678901234567) * 1e12
	   WHEN 3 THEN -(i::numeric * 7) / 10 ^ (20 + i % 10)::numeric
	   WHEN 4 THEN (i % 1000)::numeric * 10 ^ (i % 40 - 20)::numeric
	   ELSE (i::numeric * 99991 * 99991 * 9973) / 10 ^ (i % 5)::numeric END,
	   timestamptz '2026-01-01' + i * interval '1 s'
FROM generate_series(1, 6000) i;
SELECT vigil.watch('numtxn', 'card', 'amount', 'ts') > 0 AS watched;
SELECT count(*) AS replayed,
	   count(*) FILTER (WHERE r.amount IS DISTINCT FROM t.amount::float8) AS mismatched
FROM vigil.replay('numtxn') r JOIN numtxn t ON t.id = (r.row_ref ->> 'id')::int;

DROP TABLE txn, txn_copy, ptxn, ttxn, etxn, live, replayed, numtxn;
DROP OWNED BY vigil_app;
DROP ROLE vigil_app;
DROP EXTENSION vigil;
