-- Rows applied as a logical replication subscriber applies them
-- (session_replication_role = replica, in which only triggers enabled
-- REPLICA fire) are scored at commit, one batch per transaction, with the
-- same results as the statement trigger gives the same rows.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE direct (id int PRIMARY KEY, card text, amount numeric, ts timestamptz,
					 merchant text);
CREATE TABLE applied (LIKE direct INCLUDING ALL);
SELECT vigil.watch('direct', 'card', 'amount', 'ts', merchant_column => 'merchant') > 0 AS watched;
SELECT vigil.watch('applied', 'card', 'amount', 'ts', merchant_column => 'merchant') > 0 AS watched;
UPDATE vigil.rules SET params = '{"limit": 500}', enabled = true WHERE name = 'amount_limit';

CREATE TABLE stream AS
SELECT i AS id, 'c' || (i % 7) AS card,
	   CASE WHEN i % 23 = 0 THEN 900 + i ELSE 10 + (i * 37) % 90 END::numeric AS amount,
	   '2024-03-01 00:00+00'::timestamptz + i * interval '7 minutes' AS ts,
	   'm' || (i * 13) % 11 AS merchant
FROM generate_series(1, 300) i;

-- The application's way: statements, one trigger call each.
INSERT INTO direct SELECT * FROM stream WHERE id <= 200;
INSERT INTO direct SELECT * FROM stream WHERE id > 200;

-- The subscriber's way: as replica, the statement trigger does not fire and
-- the rows wait for the transaction's end.
SET session_replication_role = replica;
BEGIN;
INSERT INTO applied SELECT * FROM stream WHERE id <= 200;
SELECT count(*) AS scored_before_commit
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'applied'::regclass;
COMMIT;
INSERT INTO applied SELECT * FROM stream WHERE id > 200;
RESET session_replication_role;

-- Same alerts, same profiles.
CREATE FUNCTION alerts_of(rel regclass)
	RETURNS TABLE (row_ref jsonb, key text, amount float8, event_time timestamptz, score float8,
				   fired text[], explanation jsonb)
LANGUAGE sql AS $$
	SELECT a.row_ref, a.key, a.amount, a.event_time, a.score, a.fired, a.explanation
	FROM vigil.alerts a WHERE a.relation = rel
$$;
SELECT count(*) AS alerts FROM alerts_of('direct');
SELECT count(*) AS alerts FROM alerts_of('applied');
SELECT count(*) AS differences
FROM ((SELECT * FROM alerts_of('direct') EXCEPT ALL SELECT * FROM alerts_of('applied'))
	  UNION ALL
	  (SELECT * FROM alerts_of('applied') EXCEPT ALL SELECT * FROM alerts_of('direct'))) d;
SELECT count(*) AS profile_differences
FROM vigil.profiles d JOIN vigil.watches wd ON wd.id = d.watch_id AND wd.relation = 'direct'::regclass
FULL JOIN (SELECT a.* FROM vigil.profiles a JOIN vigil.watches wa
		   ON wa.id = a.watch_id AND wa.relation = 'applied'::regclass) a USING (key)
WHERE vigil.profile_json(d.profile) IS DISTINCT FROM vigil.profile_json(a.profile);
SELECT count(*) AS differences FROM vigil.verify('applied');

-- A row is scored once: as the application inserts, only the statement
-- trigger scores it; as replica, only the replica trigger.
INSERT INTO applied VALUES (1001, 'c1', 999, '2024-03-09 00:00+00', 'm1');
SET session_replication_role = replica;
INSERT INTO applied VALUES (1002, 'c1', 998, '2024-03-09 01:00+00', 'm1');
RESET session_replication_role;
SELECT row_ref ->> 'id' AS id, count(*) AS alerts FROM alerts_of('applied')
WHERE row_ref ->> 'id' IN ('1001', '1002') GROUP BY 1 ORDER BY 1;

-- Rows of a subtransaction that rolls back are not scored, also when the
-- one that queued the transaction's scoring is among them.
SET session_replication_role = replica;
BEGIN;
SAVEPOINT a;
INSERT INTO applied VALUES (1003, 'c2', 997, '2024-03-09 02:00+00', 'm1');
ROLLBACK TO a;
INSERT INTO applied VALUES (1004, 'c2', 996, '2024-03-09 03:00+00', 'm1');
SAVEPOINT b;
INSERT INTO applied VALUES (1005, 'c2', 995, '2024-03-09 04:00+00', 'm1');
SAVEPOINT c;
INSERT INTO applied VALUES (1006, 'c2', 994, '2024-03-09 05:00+00', 'm1');
RELEASE c;
ROLLBACK TO b;
INSERT INTO applied VALUES (1007, 'c2', 993, '2024-03-09 06:00+00', 'm1');
COMMIT;
RESET session_replication_role;
SELECT row_ref ->> 'id' AS id FROM alerts_of('applied')
WHERE (row_ref ->> 'id')::int BETWEEN 1003 AND 1007 ORDER BY 1;
SELECT count(*) AS differences FROM vigil.verify('applied');

-- A failure while scoring never fails the applied transaction (the worker
-- would retry it forever): the rows are recorded as skipped, whatever the
-- watch's on_error.
CREATE FUNCTION alerts_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'no space left for alerts' USING ERRCODE = 'disk_full';
END$$;
CREATE TRIGGER fail BEFORE INSERT ON vigil.alerts FOR EACH ROW EXECUTE FUNCTION alerts_fail();
-- as replica, only triggers enabled REPLICA or ALWAYS fire
ALTER TABLE vigil.alerts ENABLE ALWAYS TRIGGER fail;
SELECT on_error FROM vigil.watches WHERE relation = 'applied'::regclass;
SET session_replication_role = replica;
INSERT INTO applied VALUES (1008, 'c3', 992, '2024-03-09 07:00+00', 'm1');
RESET session_replication_role;
DROP TRIGGER fail ON vigil.alerts;
SELECT count(*) AS rows FROM applied WHERE id = 1008;
SELECT row_ref ->> 'id' AS id, reason FROM vigil.skipped;

-- Switched off, nothing is scored.
SET vigil.enabled = off;
SET session_replication_role = replica;
INSERT INTO applied VALUES (1009, 'c3', 991, '2024-03-09 08:00+00', 'm1');
RESET session_replication_role;
RESET vigil.enabled;
SELECT count(*) AS alerts FROM alerts_of('applied') WHERE row_ref ->> 'id' = '1009';

-- A partitioned table: rows go to partitions whose columns are in another
-- order; they are scored as rows of the watched table.
CREATE TABLE parted (id int PRIMARY KEY, card text, amount numeric, ts timestamptz)
	PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
SELECT vigil.watch('parted', 'card', 'amount', 'ts') > 0 AS watched;
CREATE TABLE parted_2 (ts timestamptz, amount numeric, card text, id int NOT NULL);
ALTER TABLE parted ATTACH PARTITION parted_2 FOR VALUES FROM (100) TO (200);
UPDATE vigil.rules r SET params = '{"limit": 500}', enabled = true
FROM vigil.watches w
WHERE w.id = r.watch_id AND w.relation = 'parted'::regclass AND r.name = 'amount_limit';
SELECT tgrelid::regclass AS partition, tgenabled FROM pg_trigger
WHERE tgname = 'vigil_detect_replicated' AND tgrelid::regclass::text LIKE 'parted%' ORDER BY 1;
SET session_replication_role = replica;
INSERT INTO parted VALUES (1, 'p1', 10, '2024-03-01 00:00+00'), (150, 'p1', 700, '2024-03-01 01:00+00'),
	(2, 'p2', 20, '2024-03-01 02:00+00');
RESET session_replication_role;
SELECT key, amount, row_ref FROM alerts_of('parted');
SELECT key, (vigil.profile_json(profile) ->> 'n')::int AS n
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'parted'::regclass ORDER BY key;

-- The functions are the triggers' own: nobody is granted them, and one
-- takes rows of a table only.
SELECT vigil.collect_replicated(1, ROW(1, 2));

-- unwatch removes both triggers.
SELECT vigil.unwatch('applied');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'applied'::regclass;

DROP TABLE direct, applied, stream, parted;
DROP FUNCTION alerts_of(regclass), alerts_fail();
DROP EXTENSION vigil;
