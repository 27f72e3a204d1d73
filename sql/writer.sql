-- Large statements: alerts and skipped rows are written as detection goes,
-- each naming its own row, and what one alert says is bounded.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE big (id bigint PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('big', 'card', 'amount', 'ts') > 0 AS watched;
-- only an amount over 500 alerts
UPDATE vigil.rules SET enabled = (name = 'amount_limit');
UPDATE vigil.rules SET params = '{"limit": 500}' WHERE name = 'amount_limit';

-- 200,000 rows of 40 cards, two in three over the limit, one in seven
-- without a card: more alerts than the writer holds (65,536), so it writes
-- them in several passes, each reading its rows' keys from the transition
-- table.
INSERT INTO big
SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || (g % 40) END,
	   CASE WHEN g % 3 <> 0 THEN 900 ELSE 10 END,
	   timestamptz '2020-01-01' + g * interval '1 minute'
FROM generate_series(1, 200000) g;
SELECT count(*) AS alerts,
	   count(*) FILTER (WHERE b.amount = 900 AND b.card = a.key
						AND b.ts = a.event_time) AS on_their_rows,
	   count(DISTINCT a.row_ref) AS distinct_rows
FROM vigil.alerts a LEFT JOIN big b ON b.id = (a.row_ref ->> 'id')::bigint;
SELECT count(*) AS skipped, count(*) FILTER (WHERE b.card IS NULL) AS on_their_rows,
	   min(reason) = max(reason) AS one_reason
FROM vigil.skipped s LEFT JOIN big b ON b.id = (s.row_ref ->> 'id')::bigint;

-- One card with 40,000 rows in one statement, arriving newest first: a
-- batch ends at 16,384 rows of one key, and the profile still counts every
-- row once.
TRUNCATE vigil.alerts;
INSERT INTO big
SELECT 1000000 + g, 'hot', CASE WHEN g % 1000 = 0 THEN 900 ELSE 10 END,
	   timestamptz '2021-01-01' - g * interval '1 minute'
FROM generate_series(1, 40000) g;
SELECT (vigil.profile_json(profile) ->> 'n')::int AS n
FROM vigil.profiles WHERE key = 'hot';
SELECT count(*) AS alerts, bool_and(b.amount = 900) AS all_over_the_limit
FROM vigil.alerts a JOIN big b ON b.id = (a.row_ref ->> 'id')::bigint;

-- Another statement trigger that reads the same transition table, and runs
-- first, does not move where detection reads.
TRUNCATE vigil.alerts;
CREATE FUNCTION count_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM count(*) FROM newrows;
	RETURN NULL;
END$$;
CREATE TRIGGER a_count AFTER INSERT ON big REFERENCING NEW TABLE AS newrows
	FOR EACH STATEMENT EXECUTE FUNCTION count_new();
INSERT INTO big
SELECT 2000000 + g, 'c' || (g % 3), CASE WHEN g % 3 = 0 THEN 900 ELSE 10 END,
	   timestamptz '2022-01-01' + g * interval '1 minute'
FROM generate_series(1, 30) g;
SELECT array_agg((row_ref ->> 'id')::bigint - 2000000 ORDER BY id) AS alerting_rows
FROM vigil.alerts;
DROP TRIGGER a_count ON big;

-- An explanation details the 8 rules that weigh most, and says how many
-- more fired; fired names them all.
TRUNCATE vigil.alerts;
INSERT INTO vigil.rules (watch_id, name, kind, params, weight)
SELECT w.id, 'limit_' || lpad(i::text, 2, '0'), 'amount_limit',
	   jsonb_build_object('limit', i), i / 20.0
FROM vigil.watches w, generate_series(1, 11) i;
INSERT INTO big VALUES (3000000, 'c1', 900, '2023-01-01');
SELECT cardinality(fired) AS fired, jsonb_array_length(explanation) AS entries,
	   (SELECT array_agg(e ->> 'rule') FROM jsonb_array_elements(explanation) e
		WHERE e ? 'rule') AS explained,
	   explanation -> -1 AS last
FROM vigil.alerts;

-- Rule names and the number of rules a watch may have are bounded.
INSERT INTO vigil.rules (watch_id, name, kind)
SELECT id, repeat('x', 64), 'velocity' FROM vigil.watches;
UPDATE vigil.rules SET name = repeat('y', 64) WHERE name = 'limit_01';
-- a statement adding more than the 64 rules leave room for fails, one
-- adding as many as fit does not
SELECT count(*) AS rules FROM vigil.rules;
INSERT INTO vigil.rules (watch_id, name, kind, enabled)
SELECT w.id, 'more_' || i, 'velocity', false
FROM vigil.watches w, generate_series(1, 65 - (SELECT count(*) FROM vigil.rules)) i;
INSERT INTO vigil.rules (watch_id, name, kind, enabled)
SELECT w.id, 'more_' || i, 'velocity', false
FROM vigil.watches w, generate_series(1, 64 - (SELECT count(*) FROM vigil.rules)) i;
SELECT count(*) AS rules FROM vigil.rules;
INSERT INTO vigil.rules (watch_id, name, kind, enabled)
SELECT id, 'one_more', 'velocity', false FROM vigil.watches;
-- renaming a rule does not count it again
UPDATE vigil.rules SET name = 'renamed' WHERE name = 'more_1';

-- With no SNS topic set (here: none), alerts are recorded, not queued: the
-- notifier never holds them.  A watch naming its own topic queues them;
-- requeue queues recorded ones; purge_alerts retires them and old skips.
SELECT status, count(*) FROM vigil.alerts GROUP BY status;
SELECT status, alerts FROM vigil.delivery_status;
UPDATE vigil.watches SET sns_topic_arn = 'arn:aws:sns:us-east-1:123456789012:fraud';
INSERT INTO big VALUES (3000001, 'c1', 900, '2023-01-02');
SELECT status, count(*) FROM vigil.alerts GROUP BY status ORDER BY status;
SELECT vigil.requeue() AS queued;
SELECT status, count(*) FROM vigil.alerts GROUP BY status ORDER BY status;
UPDATE vigil.watches SET sns_topic_arn = NULL;
INSERT INTO big VALUES (3000002, 'c1', 900, '2023-01-03');
-- with no topic, requeue leaves recorded alerts alone (none could be sent)
SELECT vigil.requeue() AS queued;
SELECT count(*) > 0 AS skips_before FROM vigil.skipped;
SELECT vigil.purge_alerts('0') AS purged;
SELECT count(*) AS skips_after FROM vigil.skipped;
SELECT status, count(*) FROM vigil.alerts GROUP BY status ORDER BY status;

-- Detection writes alerts itself (alert_store.c) where that gives its
-- INSERT's result: a column someone added gets its default, a CHECK
-- constraint holds, and every index, partial ones too, has an entry for each
-- alert it should have (amcheck, heapallindexed).  A trigger on vigil.alerts
-- is fired: detection runs the INSERT then.
CREATE EXTENSION amcheck;
ALTER TABLE vigil.alerts ADD COLUMN team text DEFAULT 'fraud-ops';
CREATE INDEX alerts_large ON vigil.alerts (score) WHERE amount > 950;
INSERT INTO big SELECT 3000100 + i, 'c' || i % 3, 900 + i, '2023-01-04'::timestamptz + i * interval '1 minute'
FROM generate_series(1, 100) i;
SELECT team, count(*), count(*) FILTER (WHERE amount > 950) AS large
FROM vigil.alerts WHERE event_time >= '2023-01-04' GROUP BY team;
-- (an index missing an alert's entry is an error here)
SELECT c.relname, bt_index_check(c.oid, true)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'vigil.alerts'::regclass ORDER BY 1;
ALTER TABLE vigil.alerts ADD CONSTRAINT below_2000 CHECK (amount < 2000);
\set VERBOSITY terse
INSERT INTO big VALUES (3000300, 'c1', 2500, '2023-01-05');
\set VERBOSITY default
CREATE FUNCTION mark_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.team := 'triggered';
	RETURN NEW;
END $$;
CREATE TRIGGER mark BEFORE INSERT ON vigil.alerts FOR EACH ROW EXECUTE FUNCTION mark_team();
INSERT INTO big VALUES (3000301, 'c1', 1500, '2023-01-05');
SELECT team, amount FROM vigil.alerts WHERE event_time >= '2023-01-05';
DROP TRIGGER mark ON vigil.alerts;
DROP FUNCTION mark_team();
-- A rule on vigil.alerts is applied: detection runs the INSERT then.
CREATE TABLE alert_log (key text);
CREATE RULE log_alerts AS ON INSERT TO vigil.alerts DO ALSO INSERT INTO public.alert_log VALUES (NEW.key);
INSERT INTO big VALUES (3000302, 'c2', 1500, '2023-01-06');
SELECT key FROM alert_log;
DROP RULE log_alerts ON vigil.alerts;
DROP TABLE alert_log;
-- A volatile default sees the alerts written before it by the same
-- statement, as the INSERT lets it: detection runs the INSERT then.
CREATE FUNCTION alerts_so_far() RETURNS bigint LANGUAGE sql VOLATILE
	AS $$SELECT count(*) FROM vigil.alerts$$;
ALTER TABLE vigil.alerts ADD COLUMN seen bigint DEFAULT alerts_so_far();
INSERT INTO big SELECT 3000400 + i, 'c3', 1500, '2023-01-07'::timestamptz + i * interval '1 minute'
FROM generate_series(1, 3) i;
SELECT seen - min(seen) OVER () AS earlier FROM vigil.alerts WHERE event_time >= '2023-01-07' ORDER BY id;
ALTER TABLE vigil.alerts DROP COLUMN seen;
DROP FUNCTION alerts_so_far();
ALTER TABLE vigil.alerts DROP CONSTRAINT below_2000, DROP COLUMN team;
DROP INDEX vigil.alerts_large;
DROP EXTENSION amcheck;

DROP TABLE big;
DROP FUNCTION count_new();
DROP EXTENSION vigil;
