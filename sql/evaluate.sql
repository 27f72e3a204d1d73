-- Detection against labels: vigil.evaluate, vigil.evaluate_rules,
-- vigil.calibrate, and vigil.replay's profiles from all earlier rows.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

-- An error's SQLSTATE and message, or 'ok'.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- 30 cards, 60 transactions each, six hours apart, made by arithmetic (the
-- same rows every run): ordinary amounts per card, fraud that is a large
-- amount at a new merchant, fraud that looks ordinary (missed), legitimate
-- splurges (false alarms), and rows nobody labelled.
CREATE TABLE pay (
	id int PRIMARY KEY,
	card text,
	amount numeric(12, 2),
	ts timestamptz,
	lat float8,
	lon float8,
	merchant text,
	category text,
	is_fraud boolean,
	fraud_int int,
	fraud_big bigint,
	fraud_small smallint,
	note text
);
SELECT vigil.watch('pay', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category') > 0 AS watched;
INSERT INTO pay (id, card, amount, ts, lat, lon, merchant, category, is_fraud)
SELECT k * 1000 + i, 'card-' || k,
	   CASE WHEN fraud THEN (20 + k + (i * 37 + k * 11) % 13) * (8 + k % 5)
			WHEN splurge THEN (20 + k + (i * 37 + k * 11) % 13) * 6
			ELSE 20 + k + (i * 37 + k * 11) % 13 END,
	   timestamptz '2020-03-01 00:00+00' + i * interval '6 hours' + k * interval '7 minutes',
	   40 + k * 0.1, -74 + k * 0.1,
	   CASE WHEN fraud OR splurge THEN 'new-' || i ELSE 'm' || (i % 3 + k % 4) END,
	   CASE WHEN fraud THEN 'electronics' ELSE 'grocery' END,
	   CASE WHEN fraud OR missed THEN true WHEN (i + k) % 53 = 0 THEN NULL ELSE false END
FROM generate_series(1, 30) k, generate_series(1, 60) i,
	 LATERAL (SELECT i > 10 AND (i * 7 + k) % 41 = 0 AS fraud,
					 i > 10 AND (i * 11 + k) % 89 = 0 AS splurge,
					 (i * 13 + k) % 97 = 0 AS missed) f
ORDER BY 4;
UPDATE pay SET fraud_int = is_fraud::int, fraud_big = is_fraud::int, fraud_small = is_fraud::int,
			   note = is_fraud::text;
SELECT count(*) AS rows, count(*) FILTER (WHERE is_fraud) AS fraud,
	   count(*) FILTER (WHERE is_fraud IS NULL) AS unlabelled,
	   (SELECT count(*) FROM vigil.alerts) AS live_alerts
FROM pay;

-- Every measure, at the watch's threshold (0.5).
SELECT rows, positives, alert_threshold, alerts, caught, round(alert_rate::numeric, 6) AS alert_rate,
	   round(precision::numeric, 6) AS precision, round(recall::numeric, 6) AS recall,
	   round(f1::numeric, 6) AS f1, round(pr_auc::numeric, 6) AS pr_auc,
	   round(roc_auc::numeric, 6) AS roc_auc
FROM vigil.evaluate('pay', 'is_fraud');

-- The alerts counted are those live detection raised on the labelled rows.
SELECT (SELECT alerts FROM vigil.evaluate('pay', 'is_fraud')) =
	   (SELECT count(*) FROM vigil.alerts a JOIN pay p ON p.id = (a.row_ref ->> 'id')::int
		WHERE p.is_fraud IS NOT NULL) AS alerts_as_live;

-- PR-AUC (average precision, ties as one threshold) and ROC-AUC computed
-- independently, in SQL, from vigil.replay's scores and the labels.
CREATE TABLE scored AS
SELECT r.score, p.is_fraud AS label
FROM vigil.replay('pay') r JOIN pay p ON p.id = (r.row_ref ->> 'id')::int
WHERE p.is_fraud IS NOT NULL;
WITH g AS (SELECT score, count(*) FILTER (WHERE label) AS pos, count(*) AS n FROM scored GROUP BY score),
	 c AS (SELECT pos, sum(pos) OVER w AS tp, sum(n) OVER w AS seen FROM g WINDOW w AS (ORDER BY score DESC)),
	 sql_ap AS (SELECT sum(pos::float8 * tp / seen) / (SELECT count(*) FROM scored WHERE label) AS ap FROM c),
	 sql_auc AS (SELECT avg(CASE WHEN a.score > b.score THEN 1.0 WHEN a.score = b.score THEN 0.5 ELSE 0.0 END) AS auc
				 FROM scored a, scored b WHERE a.label AND NOT b.label)
SELECT round(ap::numeric, 12) = round(e.pr_auc::numeric, 12) AS same_pr_auc,
	   round(auc::numeric, 12) = round(e.roc_auc::numeric, 12) AS same_roc_auc,
	   (SELECT count(DISTINCT score) FROM scored) < (SELECT count(*) FROM scored) AS has_ties
FROM sql_ap, sql_auc, vigil.evaluate('pay', 'is_fraud') e;

-- Another threshold, without changing the watch's: the ranking measures
-- stay, what alerts changes.
SELECT alert_threshold, alerts, caught, round(precision::numeric, 6) AS precision,
	   round(recall::numeric, 6) AS recall, round(pr_auc::numeric, 6) AS pr_auc
FROM vigil.evaluate('pay', 'is_fraud', threshold => 0.7);

-- Labels as 0/1 integers of any width, or a domain, give the same answer.
CREATE DOMAIN verdict AS boolean;
ALTER TABLE pay ADD COLUMN fraud_domain verdict;
UPDATE pay SET fraud_domain = is_fraud;
SELECT l, e = (SELECT e2 FROM vigil.evaluate('pay', 'is_fraud') e2) AS same
FROM unnest(ARRAY['fraud_int', 'fraud_big', 'fraud_small', 'fraud_domain']) l,
	 vigil.evaluate('pay', l) e;

-- since and until choose the rows counted; the profiles still come from
-- every earlier row.  The halves add up to the whole.
SELECT (a.rows + b.rows) = w.rows AS rows_add_up, (a.alerts + b.alerts) = w.alerts AS alerts_add_up,
	   (a.caught + b.caught) = w.caught AS caught_add_up
FROM vigil.evaluate('pay', 'is_fraud', NULL, '2020-03-08') a,
	 vigil.evaluate('pay', 'is_fraud', '2020-03-08', NULL) b,
	 vigil.evaluate('pay', 'is_fraud') w;

-- Per rule: how often it fired, its precision and recall, and what it adds
-- to the PR-AUC of all of them.
SELECT rule, kind, weight, fired, round(fired_rate::numeric, 4) AS fired_rate,
	   round(precision::numeric, 4) AS precision, round(recall::numeric, 4) AS recall,
	   round(pr_auc_without::numeric, 4) AS pr_auc_without, round(pr_auc_added::numeric, 4) AS pr_auc_added
FROM vigil.evaluate_rules('pay', 'is_fraud');
SELECT bool_and(round((r.pr_auc_without + r.pr_auc_added)::numeric, 12) = round(e.pr_auc::numeric, 12))
	   AS adds_up
FROM vigil.evaluate_rules('pay', 'is_fraud') r, vigil.evaluate('pay', 'is_fraud') e;
-- A disabled rule is not evaluated.
UPDATE vigil.rules SET enabled = false WHERE name = 'new_merchant';
SELECT count(*) FILTER (WHERE rule = 'new_merchant') AS new_merchant_rows, count(*) AS rules
FROM vigil.evaluate_rules('pay', 'is_fraud');
UPDATE vigil.rules SET enabled = true WHERE name = 'new_merchant';

-- No labels, one class only, no rows: what needs the missing class is NULL.
ALTER TABLE pay ADD COLUMN always boolean DEFAULT true;
SELECT 'no labels' AS what, rows, positives, alerts, alert_rate, precision, recall, f1, pr_auc, roc_auc
FROM vigil.evaluate('pay', 'is_fraud', '2030-01-01')
UNION ALL
SELECT 'negatives only', rows, positives, alerts, round(alert_rate::numeric, 4), precision,
	   recall, f1, pr_auc, roc_auc
FROM vigil.evaluate('pay', 'is_fraud', NULL, '2020-03-02')
UNION ALL
SELECT 'positives only', rows, positives, alerts, round(alert_rate::numeric, 4),
	   round(precision::numeric, 4), round(recall::numeric, 4), round(f1::numeric, 4),
	   round(pr_auc::numeric, 4), roc_auc
FROM vigil.evaluate('pay', 'always');
CREATE TABLE empty_pay (LIKE pay INCLUDING ALL);
SELECT vigil.watch('empty_pay', 'card', 'amount', 'ts') > 0 AS watched;
SELECT rows, positives, alert_threshold, alerts, caught, alert_rate, precision, recall, f1, pr_auc, roc_auc
FROM vigil.evaluate('empty_pay', 'is_fraud');
SELECT count(*) AS rules FROM vigil.evaluate_rules('empty_pay', 'is_fraud')
WHERE fired = 0 AND fired_rate IS NULL AND precision IS NULL AND pr_auc_without IS NULL;

-- Errors.
CREATE TABLE unwatched (id int, is_fraud boolean);
SELECT what, try(stmt) FROM (VALUES
	('NULL relation', $$SELECT vigil.evaluate(NULL, 'is_fraud')$$),
	('NULL label', $$SELECT vigil.evaluate('pay', NULL)$$),
	('no such column', $$SELECT vigil.evaluate('pay', 'fraud')$$),
	('a system column', $$SELECT vigil.evaluate('pay', 'ctid')$$),
	('a text label', $$SELECT vigil.evaluate('pay', 'note')$$),
	('a numeric label', $$SELECT vigil.evaluate('pay', 'amount')$$),
	('not watched', $$SELECT vigil.evaluate('unwatched', 'is_fraud')$$),
	('threshold 0', $$SELECT vigil.evaluate('pay', 'is_fraud', threshold => 0)$$),
	('threshold 1.5', $$SELECT vigil.evaluate('pay', 'is_fraud', threshold => 1.5)$$),
	('rules NULL label', $$SELECT vigil.evaluate_rules('pay', NULL)$$),
	('rules text label', $$SELECT vigil.evaluate_rules('pay', 'note')$$)) t(what, stmt);
UPDATE pay SET fraud_int = 2 WHERE id = 1005;
SELECT try($$SELECT vigil.evaluate('pay', 'fraud_int')$$) AS label_of_two;
UPDATE pay SET fraud_int = 0 WHERE id = 1005;

-- The alert budget: calibrate sets the threshold so that the replayed
-- history alerts on that share of rows, as near as ties allow.  On pay,
-- the 53 rows that score most tie: the nearest share to 5% is theirs.
SELECT round(threshold::numeric, 6) AS threshold, round(reached_rate::numeric, 4) AS reached_rate,
	   alerts, rows, previous_threshold
FROM vigil.calibrate('pay', 0.05);
SELECT round(alert_threshold::numeric, 6) AS alert_threshold FROM vigil.watches WHERE relation = 'pay'::regclass;
-- replay at the new threshold alerts on as many rows as calibrate said
SELECT count(*) FILTER (WHERE r.score >= w.alert_threshold) AS replay_alerts, count(*) AS rows
FROM vigil.replay('pay') r, vigil.watches w WHERE w.relation = 'pay'::regclass;

-- Where scores vary, each rate is reached within a tenth of it: generated
-- traffic with varied amounts (PostgreSQL's random() after setseed gives
-- the same numbers everywhere), scored by a z-score rule that fires on half
-- the rows and saturates late, the other rules off.
CREATE TABLE flow (id int PRIMARY KEY, card int, amount numeric(12, 2), ts timestamptz);
SELECT vigil.watch('flow', 'card', 'amount', 'ts') > 0 AS watched;
UPDATE vigil.rules r SET enabled = (r.kind = 'amount_zscore'),
	params = CASE WHEN r.kind = 'amount_zscore' THEN '{"threshold": 0.01, "saturate": 100}' ELSE r.params END
FROM vigil.watches w WHERE w.id = r.watch_id AND w.relation = 'flow'::regclass;
SELECT setseed(0.25);
INSERT INTO flow
SELECT n, n % 50, round(exp(random() * 1.2 + ln(20 + n % 50))::numeric, 2),
	   timestamptz '2020-01-01' + n * interval '13 minutes'
FROM generate_series(1, 6000) n;
SELECT rate, rows, round(c.reached_rate::numeric, 4) AS reached_rate,
	   abs(c.reached_rate - rate) <= rate / 10 AS within_a_tenth
FROM unnest(ARRAY[0.001, 0.01, 0.05, 0.2]) rate, LATERAL vigil.calibrate('flow', rate) c;
SELECT round(alert_threshold::numeric, 6) = round((SELECT threshold FROM vigil.calibrate('flow', 0.2))::numeric, 6)
	   AS threshold_set
FROM vigil.watches WHERE relation = 'flow'::regclass;
-- From a time on: only the rows since then are counted.
SELECT rows, abs(reached_rate - 0.02) <= 0.002 AS within_a_tenth
FROM vigil.calibrate('flow', 0.02, timestamptz '2020-01-01' + 3000 * interval '13 minutes');
SELECT what, try(stmt) FROM (VALUES
	('NULL relation', $$SELECT vigil.calibrate(NULL, 0.01)$$),
	('NULL rate', $$SELECT vigil.calibrate('pay', NULL)$$),
	('rate 0', $$SELECT vigil.calibrate('pay', 0)$$),
	('rate 1', $$SELECT vigil.calibrate('pay', 1)$$),
	('rate NaN', $$SELECT vigil.calibrate('pay', 'NaN')$$),
	('rate -0.1', $$SELECT vigil.calibrate('pay', -0.1)$$),
	('no rows', $$SELECT vigil.calibrate('empty_pay', 0.01)$$),
	('no rows since', $$SELECT vigil.calibrate('pay', 0.01, '2030-01-01')$$),
	('not watched', $$SELECT vigil.calibrate('unwatched', 0.01)$$)) t(what, stmt);
-- A table where no rule fires has no threshold to find.
CREATE TABLE calm (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('calm', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO calm SELECT i, 'c', 10, timestamptz '2020-01-01' + i * interval '1 day' FROM generate_series(1, 30) i;
SELECT try($$SELECT vigil.calibrate('calm', 0.01)$$) AS calm;
-- Evaluating needs SELECT on the table; setting the threshold is for
-- superusers and vigil_admin.
CREATE ROLE regress_vigil_analyst;
GRANT SELECT ON pay TO regress_vigil_analyst;
GRANT USAGE ON SCHEMA vigil TO regress_vigil_analyst;
SET ROLE regress_vigil_analyst;
SELECT rows > 0 AS evaluates FROM vigil.evaluate('pay', 'is_fraud');
SELECT try($$SELECT vigil.calibrate('pay', 0.01)$$) AS calibrate_as_analyst;
RESET ROLE;
GRANT vigil_admin TO regress_vigil_analyst;
SET ROLE regress_vigil_analyst;
SELECT alerts > 0 AS calibrates FROM vigil.calibrate('pay', 0.01);
RESET ROLE;

-- replay scores rows against profiles from every earlier row, as live
-- detection did, so a backtest of a window finds the alerts detection
-- raised there; from_empty starts the profiles at since, as 0.1 did.
UPDATE vigil.watches SET alert_threshold = 0.5 WHERE relation = 'pay'::regclass;
SELECT (SELECT count(*) FROM vigil.replay('pay', '2020-03-10', '2020-03-12') WHERE score >= 0.5) AS replayed,
	   (SELECT count(*) FROM vigil.alerts
		WHERE event_time >= '2020-03-10' AND event_time < '2020-03-12') AS live,
	   (SELECT count(*) FROM vigil.replay('pay', '2020-03-10', '2020-03-12', true) WHERE score >= 0.5)
	   AS replayed_from_empty;
SELECT (SELECT count(*) FROM vigil.replay('pay', '2020-03-10', '2020-03-12')) AS rows_in_window,
	   (SELECT count(*) FROM pay WHERE ts >= '2020-03-10' AND ts < '2020-03-12') AS table_rows;
SELECT try($$SELECT count(*) FROM vigil.replay('pay', NULL, NULL, NULL)$$) AS from_empty_null;

-- vigil.tune searches the rules' parameters and weights against the
-- labels, the latest quarter of the rows' time held out, and proposes:
-- vigil.rules does not change unless apply is given.
CREATE TABLE rules_before AS SELECT name, params, weight, enabled FROM vigil.rules r
WHERE r.watch_id = (SELECT id FROM vigil.watches WHERE relation = 'pay'::regclass);
CREATE TABLE tuned AS SELECT vigil.tune('pay', 'is_fraud') AS t;
SELECT t -> 'held_out_from' AS held_out_from, t -> 'applied' AS applied,
	   t #> '{before,tuning,rows}' AS tuning_rows, t #> '{before,held_out,rows}' AS held_out_rows,
	   round((t #>> '{before,tuning,pr_auc}')::numeric, 4) AS tuning_before,
	   round((t #>> '{after,tuning,pr_auc}')::numeric, 4) AS tuning_after,
	   round((t #>> '{before,held_out,pr_auc}')::numeric, 4) AS held_out_before,
	   round((t #>> '{after,held_out,pr_auc}')::numeric, 4) AS held_out_after
FROM tuned;
SELECT c ->> 'rule' AS rule, c -> 'enabled' AS enabled, c -> 'weight' AS weight, c -> 'params' AS params
FROM tuned, jsonb_array_elements(t -> 'changes') c ORDER BY 1;
SELECT count(*) AS rules_changed FROM (
	SELECT name, params, weight, enabled FROM vigil.rules r
	WHERE r.watch_id = (SELECT id FROM vigil.watches WHERE relation = 'pay'::regclass)
	EXCEPT SELECT * FROM rules_before) x;
-- the tuning rows' measures are evaluate's on the rows before the split
SELECT e.rows = (t #>> '{before,tuning,rows}')::bigint AS same_rows,
	   round(e.pr_auc::numeric, 12) = round((t #>> '{before,tuning,pr_auc}')::numeric, 12) AS same_pr_auc
FROM tuned, vigil.evaluate('pay', 'is_fraud', until => (t ->> 'held_out_from')::timestamptz) e;
-- with apply, the proposal is written, and evaluate agrees with it
SELECT vigil.tune('pay', 'is_fraud', apply => true) -> 'applied' AS applied;
SELECT count(*) AS rules_as_proposed FROM tuned, jsonb_array_elements(t -> 'changes') c
	 JOIN vigil.rules r ON r.name = c ->> 'rule'
WHERE r.watch_id = (SELECT id FROM vigil.watches WHERE relation = 'pay'::regclass)
  AND r.params = c -> 'params' AND r.weight = (c ->> 'weight')::float8 AND r.enabled = (c ->> 'enabled')::boolean;
SELECT round(pr_auc::numeric, 4) = round((t #>> '{after,tuning,pr_auc}')::numeric, 4) AS evaluate_agrees
FROM tuned, vigil.evaluate('pay', 'is_fraud', until => (t ->> 'held_out_from')::timestamptz);
SELECT what, try(stmt) FROM (VALUES
	('NULL apply', $$SELECT vigil.tune('pay', 'is_fraud', apply => NULL)$$),
	('NULL label', $$SELECT vigil.tune('pay', NULL)$$),
	('text label', $$SELECT vigil.tune('pay', 'note')$$),
	('no fraud to tune on', $$SELECT vigil.tune('pay', 'is_fraud', until => '2020-03-02')$$),
	('no rows', $$SELECT vigil.tune('empty_pay', 'is_fraud')$$)) t(what, stmt);
-- tuning is for superusers and vigil_admin
CREATE ROLE regress_vigil_viewer;
GRANT SELECT ON pay TO regress_vigil_viewer;
GRANT USAGE ON SCHEMA vigil TO regress_vigil_viewer;
SET ROLE regress_vigil_viewer;
SELECT try($$SELECT vigil.tune('pay', 'is_fraud')$$) AS tune_as_viewer;
RESET ROLE;

DROP TABLE pay, empty_pay, flow, calm, unwatched, scored, rules_before, tuned;
DROP DOMAIN verdict;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
DROP OWNED BY regress_vigil_analyst, regress_vigil_viewer;
DROP ROLE regress_vigil_analyst, regress_vigil_viewer;
