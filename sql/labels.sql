-- Labels in daily use: analysts' verdicts (vigil.label), the table's own
-- label column (vigil.set_label), label maturity, vigil.retrain.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION vigil;

-- An error's SQLSTATE and message, or 'ok'.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- 100 cards over the last 60 days, relative to now(), so the test reads
-- the same next year: row i is d = i % 60 days (and 6 to 8 hours) old, so
-- no row is near the 30-day maturity.  Fraud (about 3%) is several times
-- the card's level, in electronics.  The chargeback column cb says what a
-- mature row was (one in 40 unknown, NULL); on a row younger than 30 days
-- it is still false, fraud or not: chargebacks come weeks later.
CREATE TABLE lt (
	id int PRIMARY KEY,
	card int NOT NULL,
	amount numeric(12, 2) NOT NULL,
	ts timestamptz NOT NULL,
	category text NOT NULL,
	fraud boolean NOT NULL,
	cb boolean,
	cb_int int,
	cb_text text
);
INSERT INTO lt
SELECT i, c, CASE WHEN f THEN (10 + c % 7) * (6 + i % 5) ELSE (10 + c % 7) * (1 + (i * 7919 % 13) / 10.0) END,
	   now() - (i % 60) * interval '1 day' - interval '6 hours' - (i % 97) * interval '1 minute',
	   CASE WHEN f THEN 'electronics' ELSE (ARRAY['grocery', 'fuel', 'dining', 'pharmacy'])[1 + i * 31 % 4] END,
	   f,
	   CASE WHEN i % 60 < 30 THEN false WHEN i % 40 = 0 THEN NULL ELSE f END,
	   (i % 60 >= 30 AND f)::int, 'no'
FROM (SELECT i, i % 100 AS c, i * 2654435761 % 97 < 3 AS f FROM generate_series(1, 20000) i) g;
SELECT vigil.watch('lt', 'card', 'amount', 'ts', category_column => 'category') > 0 AS watched;
-- the rules stay out of it: alerts below are made by hand
UPDATE vigil.rules SET enabled = false;
SELECT count(*) FILTER (WHERE i.young) AS young, count(*) FILTER (WHERE NOT i.young) AS mature,
	   count(*) FILTER (WHERE NOT i.young AND cb IS NULL) AS mature_unknown,
	   count(*) FILTER (WHERE fraud) AS fraud
FROM lt, LATERAL (SELECT ts > now() - interval '30 days' AS young) i;

-- No labels yet: training from the watch's labels says so.
SELECT try($$SELECT vigil.train('lt', NULL)$$);
SELECT try($$SELECT vigil.retrain('lt')$$);

--
-- vigil.set_label: the table's own label column.
--
SELECT vigil.set_label('lt', 'cb') AS previous;
SELECT label_column FROM vigil.watch_columns;
SELECT vigil.set_label('lt', 'cb_int') AS previous;
SELECT vigil.set_label('lt', NULL) AS previous;
SELECT label_column IS NULL AS unset FROM vigil.watch_columns;
CREATE TABLE unwatched (id int PRIMARY KEY, cb boolean);
SELECT try($$SELECT vigil.set_label(NULL, 'cb')$$);
SELECT try($$SELECT vigil.set_label('unwatched', 'cb')$$);
SELECT try($$SELECT vigil.set_label(12345, 'cb')$$);
SELECT try($$SELECT vigil.set_label('lt', 'nope')$$);
SELECT try($$SELECT vigil.set_label('lt', 'ctid')$$);
SELECT try($$SELECT vigil.set_label('lt', 'cb_text')$$);
SELECT vigil.set_label('lt', 'cb') AS previous;

--
-- Maturity: training from the watch's column leaves out the rows younger
-- than 30 days (the watch's label_maturity), whose false is not known yet.
--
SELECT vigil.train('lt', NULL, options => '{"rounds": 20}') AS m1 \gset
SELECT m.label_column, m.params ->> 'maturity' AS maturity,
	   m.train_rows + (m.validation ->> 'rows')::bigint AS labelled_rows,
	   (SELECT count(*) FROM lt WHERE cb IS NOT NULL AND ts <= now() - interval '30 days') AS mature_labelled,
	   m.validation ->> 'immature_rows' AS immature_rows,
	   m.validation ->> 'verdict_labels' AS verdict_labels,
	   m.last_event < now() - interval '30 days' AS all_mature,
	   (m.validation ->> 'pr_auc')::float8 > 0.9 AS learned,
	   m.decision IS NULL AS no_decision
FROM vigil.models m WHERE m.id = :m1;
-- the option maturity overrides the watch's; with none, every labelled row
-- counts, the young frauds as legitimate; the explicit column is read the
-- same way
SELECT vigil.train('lt', 'cb', options => '{"rounds": 5, "maturity": "0"}') AS m0 \gset
SELECT m.train_rows + (m.validation ->> 'rows')::bigint = (SELECT count(*) FROM lt WHERE cb IS NOT NULL) AS every_row,
	   m.validation ->> 'immature_rows' AS immature_rows, m.params ->> 'maturity' AS maturity
FROM vigil.models m WHERE m.id = :m0;
UPDATE vigil.watches SET label_maturity = '45 days';
SELECT vigil.train('lt', 'cb', options => '{"rounds": 5}') AS m45 \gset
SELECT m.params ->> 'maturity' AS maturity, m.last_event < now() - interval '45 days' AS all_mature,
	   (m.validation ->> 'immature_rows')::int = (SELECT count(*) FROM lt WHERE cb IS NOT NULL AND ts > now() - interval '45 days') AS counted
FROM vigil.models m WHERE m.id = :m45;
UPDATE vigil.watches SET label_maturity = DEFAULT;
-- measured from until: with until 40 days ago, rows older than 70 days only (none)
SELECT try($$SELECT vigil.train('lt', 'cb', NULL, now() - interval '40 days')$$);
SELECT try($$SELECT vigil.train('lt', 'cb', options => '{"maturity": 30}')$$);
SELECT try($$SELECT vigil.train('lt', 'cb', options => '{"maturity": "-1 day"}')$$);
SELECT try($$SELECT vigil.train('lt', 'cb', options => '{"maturity": "soon"}')$$);
SELECT try($$UPDATE vigil.watches SET label_maturity = '-1 day'$$);

--
-- vigil.label: analysts' verdicts on alerts.  Alerts on the young frauds
-- of 10 cards, on young legitimate rows of the same cards, on the mature
-- rows whose chargeback is unknown, and on one mature fraud.
--
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
						  explanation, status)
SELECT w.id, 'lt', jsonb_build_object('id', lt.id), lt.card::text, lt.amount, lt.ts, 0.9, '{}', '[]',
	   'recorded'
FROM lt, vigil.watches w
WHERE (lt.ts > now() - interval '30 days' AND lt.card < 10 AND (lt.fraud OR lt.id % 7 = 0))
   OR (lt.ts <= now() - interval '30 days' AND lt.cb IS NULL)
   OR lt.id = (SELECT min(id) FROM lt WHERE fraud AND cb)
ORDER BY lt.id;
-- every alert labelled as it was; the mature fraud's verdict is wrong (the
-- column wins there)
SELECT count(vigil.label(a.id, lt.fraud, 'checked')) AS replaced, count(*) AS labelled
FROM vigil.alerts a JOIN lt ON lt.id = (a.row_ref ->> 'id')::int
WHERE lt.id <> (SELECT min(id) FROM lt WHERE fraud AND cb);
SELECT vigil.label(a.id, false, 'wrong') AS replaced
FROM vigil.alerts a WHERE (a.row_ref ->> 'id')::int = (SELECT min(id) FROM lt WHERE fraud AND cb);
-- labelling again replaces the verdict, and returns the one before
SELECT min(id) AS first_alert FROM vigil.alerts \gset
SELECT vigil.label(:first_alert, true, 'second look') AS replaced;
SELECT vigil.label(:first_alert, (SELECT lt.fraud FROM lt, vigil.alerts a WHERE a.id = :first_alert
															   AND lt.id = (a.row_ref ->> 'id')::int)) AS replaced;
SELECT count(*) AS verdicts, count(*) FILTER (WHERE fraud) AS fraud,
	   bool_and(labelled_by = current_user) AS by_me, count(DISTINCT alert_id) AS alerts
FROM vigil.verdicts;
SELECT note FROM vigil.verdicts WHERE alert_id = :first_alert;
-- errors
SELECT try($$SELECT vigil.label(NULL, true)$$);
SELECT try(format('SELECT vigil.label(%s, NULL)', :first_alert));
SELECT try(format('SELECT vigil.label(%s, true)', (SELECT max(id) + 1 FROM vigil.alerts)));
-- an alert that names no row (vigil.watch refuses a table without a
-- primary key, but alerts can be written by hand), and one of a watch gone
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired, explanation)
SELECT w.id, 'lt', '{}'::jsonb, '1', 1, now(), 0.9, '{}'::text[], '[]'::jsonb FROM vigil.watches w
UNION ALL
SELECT 12345, 'lt', '{"id": 1}', '1', 1, now(), 0.9, '{}', '[]';
SELECT try(format('SELECT vigil.label(%s, true)', (SELECT id FROM vigil.alerts WHERE row_ref = '{}')));
SELECT try(format('SELECT vigil.label(%s, true)', (SELECT id FROM vigil.alerts WHERE watch_id = 12345)));
SELECT try($$INSERT INTO vigil.verdicts (watch_id, row_ref, fraud) SELECT id, '{}', true FROM vigil.watches$$);
DELETE FROM vigil.alerts WHERE watch_id = 12345 OR row_ref = '{}';

-- Verdicts outlive the alerts they were given on.
SELECT vigil.purge_alerts('0') > 0 AS purged, (SELECT count(*) FROM vigil.alerts) AS alerts_left,
	   (SELECT count(*) FROM vigil.verdicts) AS verdicts_left;

--
-- Training reads both: the column on mature rows where it is not NULL,
-- else the verdict; a verdict makes a young row count.
--
SELECT vigil.train('lt', NULL, options => '{"rounds": 20}') AS m2 \gset
SELECT m.train_rows + (m.validation ->> 'rows')::bigint =
		   (SELECT count(*) FROM lt WHERE cb IS NOT NULL AND ts <= now() - interval '30 days')
		   + (SELECT count(*) FROM vigil.verdicts v JOIN lt ON lt.id = (v.row_ref ->> 'id')::int
			  WHERE lt.cb IS NULL OR lt.ts > now() - interval '30 days') AS both_sources,
	   (m.validation ->> 'verdict_labels')::int =
		   (SELECT count(*) FROM vigil.verdicts v JOIN lt ON lt.id = (v.row_ref ->> 'id')::int
			WHERE lt.cb IS NULL OR lt.ts > now() - interval '30 days') AS verdict_labels,
	   (m.validation ->> 'immature_rows')::int =
		   (SELECT count(*) FROM lt WHERE ts > now() - interval '30 days'
			AND NOT EXISTS (SELECT FROM vigil.verdicts v WHERE (v.row_ref ->> 'id')::int = lt.id)) AS immature,
	   m.last_event > now() - interval '1 day' AS young_rows_in,
	   (m.validation ->> 'pr_auc')::float8 > 0.9 AS learned
FROM vigil.models m WHERE m.id = :m2;
-- verdicts alone, with no label column
SELECT vigil.set_label('lt', NULL) AS previous;
SELECT try($$SELECT vigil.train('lt', NULL, options => '{"rounds": 5}')$$);
SELECT vigil.train('lt', NULL, options => '{"rounds": 5, "validation_share": 0.5}') AS mv \gset
SELECT label_column IS NULL AS verdicts_only, train_rows + (validation ->> 'rows')::bigint AS rows,
	   validation ->> 'verdict_labels' AS verdict_labels
FROM vigil.models WHERE id = :mv;
SELECT vigil.set_label('lt', 'cb') AS previous;

--
-- vigil.retrain: with no active model, the candidate is compared with the
-- rules (all off here, so no ranking at all) and activated; the threshold
-- stays without an alert budget.
--
DELETE FROM vigil.models;
SELECT decision, pr_auc > 0.9 AS learned, previous_model, previous_pr_auc < 0.2 AS rules_rank_badly,
	   alert_threshold
FROM vigil.retrain('lt', '{"rounds": 20}');
SELECT state, decision, decision_detail ->> 'compared_with' AS compared_with,
	   decision_detail ->> 'reason' AS reason, decision_detail ->> 'alert_budget' AS alert_budget,
	   (decision_detail ->> 'validation_from')::timestamptz = validation_from AS window_recorded,
	   (decision_detail ->> 'rows')::bigint = (validation ->> 'rows')::bigint AS rows_recorded
FROM vigil.models;
SELECT id AS active FROM vigil.models WHERE state = 'active' \gset
-- The same candidate again, with an alert budget: it ties with the active
-- model on the same rows, so it is activated and the threshold calibrated.
UPDATE vigil.watches SET alert_budget = 0.02;
SELECT r.decision, r.previous_model = :active AS compared_with_active, r.pr_auc = r.previous_pr_auc AS tie,
	   r.alert_threshold <> 0.5 AS calibrated, r.alert_threshold AS threshold
FROM vigil.retrain('lt', '{"rounds": 20}') r \gset
SELECT :'decision' AS decision, :'compared_with_active' AS compared_with_active, :'tie' AS tie,
	   :'calibrated' AS calibrated, alert_threshold = :threshold AS set_on_watch FROM vigil.watches;
SELECT id AS active FROM vigil.models WHERE state = 'active' \gset
SELECT decision_detail ->> 'alert_budget' AS alert_budget,
	   (decision_detail ->> 'alert_threshold')::float8 = (SELECT alert_threshold FROM vigil.watches) AS threshold
FROM vigil.models WHERE id = :active;
-- A worse candidate (a tree that may not split: every row the same
-- probability) is kept out: the active model stays, and so does the
-- threshold.
SELECT alert_threshold AS threshold_before FROM vigil.watches \gset
SELECT r.decision, r.pr_auc < r.previous_pr_auc AS worse, r.previous_model = :active AS active_compared,
	   r.alert_threshold = :threshold_before AS threshold_kept
FROM vigil.retrain('lt', '{"rounds": 1, "min_child_weight": 1000000}') r;
SELECT m.state, m.decision, m.decision_detail ->> 'reason' AS reason,
	   (m.decision_detail ->> 'previous_model')::bigint = :active AS previous_recorded,
	   (SELECT id FROM vigil.models WHERE state = 'active') = :active AS active_unchanged
FROM vigil.models m ORDER BY m.id DESC LIMIT 1;
-- Past max_rows vigil.train refuses, and vigil.retrain (the nightly job, on
-- a table that only grows) trains on a uniform sample of that many rows.
SELECT try($$SELECT vigil.train('lt', NULL, options => '{"max_rows": 1000, "rounds": 3}')$$);
SELECT decision IS NOT NULL AS decided FROM vigil.retrain('lt', '{"max_rows": 1000, "rounds": 3}');
SELECT train_rows + (validation ->> 'rows')::bigint AS sampled FROM vigil.models ORDER BY id DESC LIMIT 1;
SELECT try($$SELECT vigil.retrain(NULL)$$);
SELECT try($$SELECT vigil.retrain('lt', NULL)$$);
SELECT try($$SELECT vigil.retrain('unwatched')$$);
SELECT try($$SELECT vigil.retrain('lt', '{"rounds": 0}')$$);
SELECT try($$UPDATE vigil.watches SET alert_budget = 1$$);

--
-- The nightly job: one per watch with labels (a label column or
-- verdicts), found by the watch's id.
--
SELECT m.job_name = 'vigil-retrain-' || w.id || '-' || current_database() AS named_by_watch,
	   m.schedule,
	   m.command = format('DO $vigil$BEGIN IF pg_catalog.to_regprocedure(''vigil.retrain(regclass,jsonb)'') IS NOT NULL '
						  'THEN PERFORM vigil.retrain(w.relation) FROM vigil.watches w '
						  'WHERE w.id OPERATOR(pg_catalog.=) %s; END IF; END$vigil$', w.id) AS command
FROM vigil.maintenance_jobs() m, vigil.watches w
WHERE m.job_name LIKE 'vigil-retrain-%' AND w.relation = 'lt'::regclass;
SELECT count(*) AS jobs FROM vigil.maintenance_jobs(retrain_schedule => '15 2 * * *')
WHERE job_name LIKE 'vigil-retrain-%' AND schedule = '15 2 * * *';
SELECT try($$SELECT * FROM vigil.maintenance_jobs(retrain_schedule => NULL)$$);
-- without a label column, the verdicts still make the job; without either, none
SELECT vigil.set_label('lt', NULL) IS NOT NULL AS unset;
SELECT count(*) AS jobs FROM vigil.maintenance_jobs() WHERE job_name LIKE 'vigil-retrain-%';
DELETE FROM vigil.verdicts;
SELECT count(*) AS jobs FROM vigil.maintenance_jobs() WHERE job_name LIKE 'vigil-retrain-%';

-- Dropping the label column forgets it.
SELECT vigil.set_label('lt', 'cb_int') AS previous;
ALTER TABLE lt DROP COLUMN cb_int;
SELECT label_attnum IS NULL AS forgotten FROM vigil.watches WHERE relation = 'lt'::regclass;

--
-- For superusers and vigil_admin.
--
CREATE ROLE labels_user;
CREATE ROLE labels_admin IN ROLE vigil_admin;
GRANT SELECT ON lt TO labels_user, labels_admin;
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired, explanation)
SELECT w.id, 'lt', '{"id": 1}', '1', 1, now(), 0.9, '{}', '[]' FROM vigil.watches w WHERE w.relation = 'lt'::regclass;
SELECT max(id) AS alert FROM vigil.alerts \gset
SET ROLE labels_user;
SELECT try(format('SELECT vigil.label(%s, true)', :alert));
SELECT try($$SELECT vigil.set_label('lt', 'cb')$$);
SELECT try($$SELECT vigil.retrain('lt')$$);
SELECT try($$SELECT count(*) FROM vigil.verdicts$$);
SET ROLE labels_admin;
SELECT vigil.label(:alert, true, 'by an admin') AS replaced;
SELECT vigil.set_label('lt', 'cb') AS previous;
SELECT decision IS NOT NULL AS retrained_by_admin FROM vigil.retrain('lt', '{"rounds": 5}');
SELECT labelled_by FROM vigil.verdicts;
RESET ROLE;

-- Unwatching deletes the watch's verdicts, as it deletes its models.
SELECT vigil.unwatch('lt');
SELECT count(*) AS verdicts FROM vigil.verdicts;

DROP TABLE lt, unwatched;
DROP FUNCTION try(text);
DROP ROLE labels_user, labels_admin;
DROP EXTENSION vigil;
