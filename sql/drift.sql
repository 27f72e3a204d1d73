-- Drift: a model's scores on its validation rows against the recent ones.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

-- An error's SQLSTATE and message, or 'ok'.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- 100 cards over the 41 days up to now, a row every 3 hours each: amounts
-- around each card's level, fraud (one row in 50) several times it at
-- night in electronics.  In the last 7 days ordinary rows look like it:
-- six times their level, at night, in electronics.  Traffic has moved.
CREATE TABLE tx (id int PRIMARY KEY, card int NOT NULL, amount numeric(12, 2) NOT NULL,
				 ts timestamptz NOT NULL, category text NOT NULL, fraud boolean);
INSERT INTO tx
SELECT i, c,
	   CASE WHEN f THEN (10 + c % 7) * (6 + i % 5)
			ELSE (10 + c % 7) * (1 + (i * 7919 % 13) / 10.0) * CASE WHEN i / 100 >= 272 THEN 6 ELSE 1 END END,
	   now() - interval '41 days' + (i / 100) * interval '3 hours' + c * interval '1 minute'
		   + CASE WHEN f OR i / 100 >= 272 THEN interval '0 hours' ELSE interval '12 hours' END,
	   CASE WHEN f OR i / 100 >= 272 THEN 'electronics'
			ELSE (ARRAY['grocery', 'fuel', 'dining', 'pharmacy'])[1 + i * 31 % 4] END,
	   f
FROM (SELECT i, i % 100 AS c, i * 2654435761 % 97 < 2 AS f FROM generate_series(1, 31900) i) g;
SELECT vigil.watch('tx', 'card', 'amount', 'ts', category_column => 'category') > 0 AS watched;
SELECT count(*) > 0 AS rebuilt FROM vigil.rebuild('tx');

-- Errors before there is a model.
SELECT try($$SELECT * FROM vigil.drift('tx')$$);
SELECT try($$SELECT * FROM vigil.model_scores('tx')$$);
SELECT try($$SELECT * FROM vigil.drift(NULL)$$);
SELECT try($$SELECT * FROM vigil.drift('tx', interval '-1 day')$$);
CREATE TABLE other (id int);
SELECT try($$SELECT * FROM vigil.drift('other')$$);

-- A model trained on the rows before the last week, active.
SELECT vigil.train('tx', 'fraud', until => now() - interval '7 days',
				   options => '{"rounds": 20, "maturity": "0"}') AS model \gset
SET client_min_messages = warning;
SELECT count(*) FROM vigil.activate_model(:model);
RESET client_min_messages;
SELECT try($$SELECT * FROM vigil.drift('tx', model => 999999)$$);

-- model_scores: one row per row of the window, the model's probability
-- and the watch's score.
SELECT count(*) = (SELECT count(*) FROM tx WHERE ts >= now() - interval '1 day') AS every_row,
	   bool_and(probability BETWEEN 0 AND 1) AS probabilities, bool_and(score BETWEEN 0 AND 1) AS scores
FROM vigil.model_scores('tx', now() - interval '1 day');

-- Its validation rows and the last week: the recent probabilities have
-- moved (population stability index far above 0.25), and at a threshold
-- of 0.9 far more rows would alert.
UPDATE vigil.watches SET alert_threshold = 0.9;
CREATE TABLE drift AS SELECT * FROM vigil.drift('tx');
SELECT period, model_id = :model AS the_model, rows > 0 AS has_rows,
	   p50 <= p90 AND p90 <= p99 AS ordered, psi IS NULL AS no_psi, psi > 0.25 AS moved
FROM drift ORDER BY period DESC;
SELECT r.alert_rate > 10 * v.alert_rate AS more_alerts, r.mean_probability > v.mean_probability AS higher
FROM drift r, drift v WHERE r.period = 'recent' AND v.period = 'validation';
-- the view shows the same for every active model
SELECT relation, period, rows > 0 AS has_rows FROM vigil.model_drift;

-- For vigil_admin; others may not read the view.
CREATE ROLE drift_user;
SET ROLE drift_user;
SELECT try($$SELECT * FROM vigil.model_drift$$);
RESET ROLE;
DROP ROLE drift_user;

DROP TABLE tx, other, drift;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
