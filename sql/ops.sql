-- Operations: alert retention, the daily retrain, the pg_cron jobs'
-- definitions and the error without pg_cron, the reporting views on a fixed
-- data set, and what the role vigil_reader may and may not do.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE EXTENSION vigil;

-- The role exists once the extension does, without LOGIN; it can read the
-- five reporting views and no other relation of vigil.
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'vigil_reader';
SELECT c.relname, c.relkind
FROM pg_class c
WHERE c.relnamespace = 'vigil'::regnamespace
  AND has_table_privilege('vigil_reader', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
ORDER BY 1;

-- A watched table with two cards' history in March 2020, rules off so that
-- the alerts are exactly the ones written below.
CREATE TABLE txn (id bigint PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
SELECT vigil.watch('txn', 'card', 'amount', 'ts') > 0 AS watched;
UPDATE vigil.rules SET enabled = false;
INSERT INTO txn SELECT i, 'card-a', 10 * i, timestamptz '2020-03-01 08:00+00' + i * interval '1 minute'
FROM generate_series(1, 10) i;
INSERT INTO txn SELECT 100 + i, 'card-b', 5, timestamptz '2020-03-01 09:00+00' + i * interval '1 minute'
FROM generate_series(1, 4) i;
INSERT INTO txn VALUES (200, 'card-c', 70, '2020-02-20 12:00+00');
SELECT count(*) AS detected_alerts FROM vigil.alerts;

INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
						  explanation, created_at, status, attempts, next_attempt_at,
						  last_attempt_at, delivered_at, message_id, last_error)
SELECT w.id, 'txn'::regclass, a.row_ref, a.key, a.amount, a.event_time, a.score, a.fired,
	   a.explanation, a.created_at, a.status, a.attempts, a.created_at, a.last_attempt_at,
	   a.delivered_at, a.message_id, a.last_error
FROM vigil.watches w,
	 (VALUES
		('{"id": 11}'::jsonb, 'card-a', 900::float8, timestamptz '2020-03-01 10:15+00', 0.95::float8,
		 '{amount_ratio,amount_zscore}'::text[],
		 '[{"rule": "amount_ratio", "why": "amount 900.00 is 16.4 times the card''s recent mean 55.00"},
		   {"rule": "amount_zscore", "why": "amount 900.00 is 27.9 standard deviations above the card''s recent mean 55.00"}]'::jsonb,
		 timestamptz '2020-03-01 10:15:01+00', 'sent', 1, timestamptz '2020-03-01 10:15:01.25+00',
		 timestamptz '2020-03-01 10:15:01.25+00', 'msg-1', NULL),
		('{"id": 12}', 'card-a', 45, '2020-03-01 10:40+00', 0.6, '{impossible_travel}',
		 '[{"rule": "impossible_travel", "why": "5570 km in 25 minutes"}]',
		 '2020-03-01 10:40:01+00', 'dead', 10, '2020-03-01 11:00+00', NULL, NULL,
		 'NotFound: Topic does not exist'),
		('{"id": 105}', 'card-b', 3, '2020-03-01 10:05+00', 0.7, '{card_testing}',
		 '[{"rule": "card_testing", "why": "4 amounts of at most 5.00 within 900 s"}]',
		 '2020-03-01 10:05:01+00', 'pending', 0, NULL, NULL, NULL, NULL),
		('{"id": 106}', 'card-b', 4200.5, '2020-03-02 09:00+00', 0.99, '{amount_limit,window_sum}',
		 '[{"rule": "amount_limit", "why": "amount 4200.50 is above the limit 2500.00"},
		   {"rule": "window_sum", "why": "6.2 k within 86400 s"}]',
		 '2020-03-02 09:00:02+00', 'sent', 1, '2020-03-02 09:00:03+00', '2020-03-02 09:00:03+00',
		 'msg-2', NULL))
	 AS a(row_ref, key, amount, event_time, score, fired, explanation, created_at, status,
		  attempts, last_attempt_at, delivered_at, message_id, last_error)
ORDER BY a.event_time;

-- The reporting views on it.
SELECT * FROM vigil.alert_feed ORDER BY alert_id;
SELECT * FROM vigil.alerts_by_hour ORDER BY hour, table_name;
SELECT * FROM vigil.rule_hits_daily ORDER BY day, table_name, rule;
-- Amounts are numeric in cents there: a float8 amount that prints as
-- 397.51000000000005, and a sum of 0.1 and 0.2.
BEGIN;
UPDATE vigil.alerts SET amount = 397.51000000000005::float8 WHERE id = 1;
UPDATE vigil.alerts SET amount = 0.1::float8 WHERE id = 2;
UPDATE vigil.alerts SET amount = 0.2::float8 WHERE id = 3;
SELECT a.amount::text AS stored, f.amount AS shown, pg_typeof(f.amount)
FROM vigil.alerts a JOIN vigil.alert_feed f ON f.alert_id = a.id WHERE a.id = 1;
SELECT (SELECT sum(amount) FROM vigil.alerts WHERE id IN (2, 3))::text AS float8_sum,
	   (SELECT amount FROM vigil.alerts_by_hour WHERE alerts = 3) - 397.51 AS alerts_by_hour,
	   (SELECT amount FROM vigil.rule_hits_daily WHERE rule = 'amount_ratio') AS rule_hits_daily;
ROLLBACK;
SELECT watch_id, table_name, key, transactions, mean, round(stddev::numeric, 4) AS stddev,
	   recent_mean IS NOT NULL AS has_recent_mean, last_transaction_at, alerts_30d, alerts_total,
	   max_score_30d, last_alert_at
FROM vigil.key_risk ORDER BY key;
SELECT pending, sending, sent, dead, oldest_queued_seconds > 0 AS queued_for_a_while,
	   sent_last_hour, dead_last_hour, latency_p50_ms, latency_p95_ms, last_delivered_at,
	   last_error, last_error_at
FROM vigil.delivery_health;

-- The same with times relative to now(), which one transaction pins.
BEGIN;
UPDATE vigil.alerts SET event_time = now() - interval '2 days' WHERE row_ref = '{"id": 105}';
UPDATE vigil.alerts SET created_at = now() - interval '90 seconds' WHERE status = 'pending';
UPDATE vigil.alerts SET created_at = now() - interval '10 minutes',
	delivered_at = now() - interval '10 minutes' + (delivered_at - created_at)
WHERE status = 'sent';
UPDATE vigil.alerts SET last_attempt_at = now() - interval '5 minutes' WHERE status = 'dead';
SELECT key, alerts_30d, alerts_total, max_score_30d, last_alert_at = now() - interval '2 days' AS last_alert_2_days_ago
FROM vigil.key_risk ORDER BY key;
SELECT pending, sent, dead, oldest_queued_seconds, sent_last_hour, dead_last_hour,
	   latency_p50_ms, latency_p95_ms, last_error_at = now() - interval '5 minutes' AS last_error_5_minutes_ago
FROM vigil.delivery_health;
ROLLBACK;

-- Table names are schema-qualified and quoted as needed; a dropped table's
-- alerts show its OID.
CREATE SCHEMA "Shop";
CREATE TABLE "Shop"."Card Txn" (LIKE txn INCLUDING ALL);
SELECT vigil.table_name('"Shop"."Card Txn"'::regclass), vigil.table_name('txn');
SELECT vigil.table_name(0::regclass), vigil.table_name(NULL);
DROP SCHEMA "Shop" CASCADE;

-- vigil_reader reads the views, through a login role in it as a BI tool
-- would; profiles, rules, alerts and settings stay out of reach.
CREATE ROLE regress_vigil_analyst LOGIN IN ROLE vigil_reader;
SET ROLE regress_vigil_analyst;
SELECT (SELECT count(*) FROM vigil.alert_feed) AS alert_feed,
	   (SELECT count(*) FROM vigil.alerts_by_hour) AS alerts_by_hour,
	   (SELECT count(*) FROM vigil.rule_hits_daily) AS rule_hits_daily,
	   (SELECT count(*) FROM vigil.key_risk) AS key_risk,
	   (SELECT count(*) FROM vigil.delivery_health) AS delivery_health;
SELECT key, transactions, alerts_total FROM vigil.key_risk ORDER BY key;
SELECT count(*) FROM vigil.profiles;
SELECT count(*) FROM vigil.profile_summary;
SELECT count(*) FROM vigil.rules;
SELECT count(*) FROM vigil.alerts;
SELECT count(*) FROM vigil.watches;
SELECT count(*) FROM vigil.delivery_status;
UPDATE vigil.rules SET enabled = true;
UPDATE vigil.alert_feed SET status = 'sent';
SELECT vigil.purge_alerts();
SELECT * FROM vigil.rebuild_all();
SELECT * FROM vigil.schedule_maintenance();
SELECT vigil.unschedule_maintenance();
SELECT vigil.requeue();
ALTER SYSTEM SET vigil.batch_size = 5;
RESET ROLE;
DROP ROLE regress_vigil_analyst;

-- purge_alerts: sent and dead alerts whose latest event is older than the
-- retention go; pending and sending ones always stay.
SELECT vigil.purge_alerts(NULL);
SELECT vigil.purge_alerts('-1 day');
BEGIN;
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
						  explanation, created_at, status, last_attempt_at, delivered_at)
SELECT w.id, 'txn'::regclass, a.row_ref, 'card-p', 1, now(), 0.9, '{amount_limit}', '[]',
	   now() - a.created, a.status, now() - a.attempted, now() - a.delivered
FROM vigil.watches w,
	 (VALUES ('{"id": "sent-100-days"}'::jsonb, interval '100 days', 'sent', interval '100 days', interval '100 days'),
			 ('{"id": "sent-late-10-days"}', '100 days', 'sent', '10 days', '10 days'),
			 ('{"id": "dead-95-days"}', '120 days', 'dead', '95 days', NULL),
			 ('{"id": "dead-retried-1-day"}', '120 days', 'dead', '1 day', NULL),
			 ('{"id": "pending-200-days"}', '200 days', 'pending', NULL, NULL),
			 ('{"id": "sending-200-days"}', '200 days', 'sending', '200 days', NULL))
	 AS a(row_ref, created, status, attempted, delivered);
SELECT vigil.purge_alerts() AS purged;
SELECT row_ref ->> 'id' AS kept FROM vigil.alerts WHERE key = 'card-p' ORDER BY 1;
SELECT vigil.purge_alerts('5 days') AS purged;
SELECT vigil.purge_alerts('0') AS purged;
SELECT row_ref ->> 'id' AS kept FROM vigil.alerts WHERE key = 'card-p' ORDER BY 1;
SELECT status, count(*) FROM vigil.alerts GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- rebuild_all: every watch, from the rows of the last `history` (txn's are
-- from 2020, txn2's from yesterday), or from all rows (the default, NULL).
CREATE TABLE txn2 (LIKE txn INCLUDING ALL);
SELECT vigil.watch('txn2', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO txn2 VALUES (1, 'card-z', 12, now() - interval '1 day');
SELECT * FROM vigil.rebuild_all('30 days') ORDER BY 1;
SELECT key, transactions FROM vigil.key_risk ORDER BY key;
SELECT * FROM vigil.rebuild_all() ORDER BY 1;
SELECT key, transactions FROM vigil.key_risk ORDER BY key;
SELECT * FROM vigil.rebuild_all(NULL);
SELECT * FROM vigil.rebuild_all('0');
SELECT * FROM vigil.rebuild_all('-1 day');
-- rebuild reads the rows with a snapshot taken once it holds the table,
-- which a transaction whose snapshot is fixed cannot give.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT vigil.rebuild('txn2');
ROLLBACK;
-- rebuild_each, the scheduled repair: each table in a transaction of its
-- own, so it is CALLed outside a transaction block.
CALL vigil.rebuild_each();
CALL vigil.rebuild_each('30 days');
CALL vigil.rebuild_each('0');
BEGIN;
CALL vigil.rebuild_each();
ROLLBACK;
DROP TABLE txn2;

-- The pg_cron jobs this database would get (the database name replaced).
SELECT replace(job_name, current_database(), '<db>') AS job_name, schedule, command
FROM vigil.maintenance_jobs();
SELECT replace(job_name, current_database(), '<db>') AS job_name, schedule, command
FROM vigil.maintenance_jobs('*/10 * * * *', '@daily', '7 days 12:00:00', '1 year 2 mons');
-- Whatever the session's IntervalStyle, the commands read back the same.
SET IntervalStyle = 'sql_standard';
SELECT command FROM vigil.maintenance_jobs(history => '1 day -01:00:00') WHERE job_name LIKE 'vigil-rebuild-%';
RESET IntervalStyle;
SELECT * FROM vigil.maintenance_jobs(NULL);
SELECT * FROM vigil.maintenance_jobs(history => '0');
SELECT * FROM vigil.maintenance_jobs(keep => '-1 day');

-- Without pg_cron in this database (the test cluster preloads it, but keeps
-- its jobs in another database): an error saying how to enable it.
CREATE FUNCTION pg_cron_error(call text) RETURNS TABLE (code text, message text, how text)
LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE call;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	message := replace(message, current_database(), '<db>');
	how := CASE WHEN hint LIKE '%CREATE EXTENSION pg_cron%' THEN 'hint says CREATE EXTENSION pg_cron' ELSE hint END;
	RETURN NEXT;
END
$$;
SELECT * FROM pg_cron_error('SELECT vigil.schedule_maintenance()');
SELECT * FROM pg_cron_error('SELECT vigil.unschedule_maintenance()');
DROP FUNCTION pg_cron_error(text);

-- DROP EXTENSION leaves the role (it belongs to the cluster); CREATE
-- EXTENSION again finds it and goes on.
DROP TABLE txn;
DROP EXTENSION vigil;
SELECT rolname FROM pg_roles WHERE rolname = 'vigil_reader';
CREATE EXTENSION vigil;
SELECT count(*) AS readable_views FROM pg_class c
WHERE c.relnamespace = 'vigil'::regnamespace AND has_table_privilege('vigil_reader', c.oid, 'SELECT');
DROP EXTENSION vigil;
