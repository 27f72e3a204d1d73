-- Learned models: vigil.train and vigil.models.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

-- An error's SQLSTATE and message, or 'ok'.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- 100 cards over 60 days, made by arithmetic (the same rows every run):
-- ordinary amounts around each card's own level in a few categories, and
-- fraud on one card in 50 rows: several times the card's level, at night,
-- in electronics.  One row in 40 has no label.
CREATE TABLE tx (
	id int PRIMARY KEY,
	card int NOT NULL,
	amount numeric(12, 2) NOT NULL,
	ts timestamptz NOT NULL,
	category text NOT NULL,
	fraud boolean,
	fraud_text text,
	all_false boolean
);
INSERT INTO tx
SELECT i, c, CASE WHEN f THEN (10 + c % 7) * (6 + i % 5) ELSE (10 + c % 7) * (1 + (i * 7919 % 13) / 10.0) END,
	   timestamptz '2025-03-01 00:00+00' + (i / 100) * interval '3 hours' + c * interval '1 minute'
		   + CASE WHEN f THEN interval '0 hours' ELSE interval '12 hours' END,
	   CASE WHEN f THEN 'electronics' ELSE (ARRAY['grocery', 'fuel', 'dining', 'pharmacy'])[1 + i * 31 % 4] END,
	   CASE WHEN i % 40 = 0 THEN NULL ELSE f END, f::text, false
FROM (SELECT i, i % 100 AS c, i * 2654435761 % 97 < 2 AS f FROM generate_series(1, 48000) i) g;
SELECT count(*) AS rows, count(*) FILTER (WHERE fraud) AS fraud, count(*) FILTER (WHERE fraud IS NULL) AS unlabelled
FROM tx;
SELECT vigil.watch('tx', 'card', 'amount', 'ts', category_column => 'category') > 0 AS watched;

-- Train with the defaults: the model is stored, not active, with its
-- validation measures (the latest fifth of the rows' time held out) and
-- the features it reads.
SELECT vigil.train('tx', 'fraud') AS model \gset
SELECT m.id = :model AS same_id, w.relation, m.label_column, m.train_rows,
	   m.validation ->> 'rows' AS validation_rows, m.validation ->> 'positives' AS validation_fraud,
	   (m.validation ->> 'pr_auc')::float8 > 0.9 AS learned,
	   (m.validation ->> 'evaluator_disagreement')::float8 <= 1e-6 AS evaluators_agree,
	   m.validation_from > m.first_event AND m.validation_from < m.last_event AS held_out,
	   cardinality(m.categories) AS categories, m.params ->> 'rounds' AS rounds,
	   length(m.trees) > 1000 AS has_trees
FROM vigil.models m JOIN vigil.watches w ON w.id = m.watch_id;
SELECT f FROM vigil.models, unnest(features) WITH ORDINALITY u(f, n) ORDER BY n;

-- Options: a smaller model trains; unknown or out-of-range options are refused.
SELECT vigil.train('tx', 'fraud', options => '{"rounds": 5, "max_depth": 2, "validation_share": 0.5}') AS small \gset
SELECT (validation ->> 'evaluator_disagreement')::float8 <= 1e-6 AS evaluators_agree,
	   params ->> 'rounds' AS rounds, params ->> 'max_depth' AS max_depth,
	   validation ->> 'rows' AS validation_rows
FROM vigil.models WHERE id = :small;
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '{"trees": 5}')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '{"rounds": 0}')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '{"max_depth": 2.5}')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '{"learning_rate": "fast"}')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '[1]')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => NULL)$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', options => '{"max_rows": 1000}')$$);

-- Labels: a missing column, one of another type, NULL, no labelled rows in
-- the range, labels of one class.
SELECT try($$SELECT vigil.train('tx', 'nope')$$);
SELECT try($$SELECT vigil.train('tx', 'fraud_text')$$);
SELECT try($$SELECT vigil.train('tx', NULL)$$);
SELECT try($$SELECT vigil.train('tx', 'fraud', '2030-01-01', '2030-02-01')$$);
SELECT try($$SELECT vigil.train('tx', 'all_false')$$);
SELECT try($$SELECT vigil.train(NULL, 'fraud')$$);
CREATE TABLE other (id int);
SELECT try($$SELECT vigil.train('other', 'id')$$);

-- Cancelled while boosting: the statement ends, nothing is stored, and the
-- next training in the same session works.
SET statement_timeout = '300ms';
SELECT vigil.train('tx', 'fraud', options => '{"rounds": 5000, "max_depth": 8}');
RESET statement_timeout;
SELECT count(*) AS models FROM vigil.models;
SELECT vigil.train('tx', 'fraud', options => '{"rounds": 3}') > 0 AS trained_again;

-- For superusers and vigil_admin only; vigil_admin may read the models.
CREATE ROLE train_user;
CREATE ROLE train_admin IN ROLE vigil_admin;
GRANT SELECT ON tx TO train_user, train_admin;
SET ROLE train_user;
SELECT try($$SELECT vigil.train('tx', 'fraud')$$);
SELECT try($$SELECT count(*) FROM vigil.models$$);
SET ROLE train_admin;
SELECT vigil.train('tx', 'fraud', options => '{"rounds": 3}') > 0 AS trained_by_admin;
SELECT created_by FROM vigil.models ORDER BY id DESC LIMIT 1;
RESET ROLE;

-- Serving.  vigil.watch gives a new watch a rule of kind model, which
-- fires only with an active model.  Backtest a model before activating
-- it: on the held-out rows, rules and model together rank fraud well.
SELECT name, kind, params, weight, enabled FROM vigil.rules WHERE kind = 'model';
SELECT validation_from AS vf FROM vigil.models WHERE id = :model \gset
SELECT pr_auc > 0.9 AS learned FROM vigil.evaluate('tx', 'fraud', :'vf', model => :model);
SELECT count(*) FILTER (WHERE 'model' = ANY (fired)) > 0 AS model_fires_in_replay,
	   count(*) FILTER (WHERE 'model' = ANY (fired)) = 0 OR
	   bool_and(e ->> 'why' LIKE 'the watch''s model gives a fraud probability of %')
		   FILTER (WHERE e ->> 'kind' = 'model') AS explained
FROM vigil.replay('tx', :'vf', model => :model) r
	 LEFT JOIN LATERAL jsonb_array_elements(r.explanation) e ON true;

-- Activation: the model scores inserts from the next statement; without
-- an alert rate the threshold stays, with a hint to calibrate.
SELECT model = :model AS activated, previous_model, rule, alert_threshold, previous_threshold
FROM vigil.activate_model(:model);
SELECT id = :model AS is_model, state, state_changed_at IS NOT NULL AS changed
FROM vigil.models WHERE state <> 'inactive';
INSERT INTO tx VALUES (100001, 7, 60, '2025-05-01 01:00+00', 'electronics', NULL, NULL, false),
					  (100002, 8, 11, '2025-05-01 13:00+00', 'grocery', NULL, NULL, false);
SELECT row_ref ->> 'id' AS id, fired FROM vigil.alerts ORDER BY id;
-- The model's entry names the features that pushed its probability up
-- most, largest contribution (log-odds) first, with the row's values: the
-- amount beside the card's usual (mean) amount.
SELECT e ->> 'rule' AS rule, jsonb_array_length(e -> 'features') BETWEEN 1 AND 5 AS named,
	   (SELECT bool_and(f ->> 'feature' = ANY (m.features) AND (f ->> 'contribution')::float8 > 0)
		FROM jsonb_array_elements(e -> 'features') f) AS known_and_positive,
	   (SELECT bool_and(a.c >= b.c) FROM
		 (SELECT (f ->> 'contribution')::float8 AS c, o FROM jsonb_array_elements(e -> 'features')
		  WITH ORDINALITY x(f, o)) a
		 JOIN (SELECT (f ->> 'contribution')::float8 AS c, o FROM jsonb_array_elements(e -> 'features')
			   WITH ORDINALITY x(f, o)) b ON b.o = a.o + 1) IS NOT false AS largest_first,
	   (SELECT bool_and((f ->> 'value')::float8 = 60 AND (f ->> 'usual')::float8 > 0)
		FROM jsonb_array_elements(e -> 'features') f WHERE f ->> 'feature' = 'amount')
		   IS NOT false AS amount_and_usual
FROM vigil.alerts a, jsonb_array_elements(a.explanation) e, vigil.models m
WHERE m.id = :model AND e ->> 'kind' = 'model';
-- With an alert rate, the threshold is calibrated on the rows from the
-- model's validation on.
SELECT model = :model AS activated, previous_model = :model AS again, alert_threshold > 0.5 AS calibrated,
	   previous_threshold
FROM vigil.activate_model(:model, 0.01);
SELECT abs(alert_rate - 0.01) < 0.002 AS near_one_percent
FROM vigil.evaluate('tx', 'fraud', :'vf');
-- Another model replaces it; the rule, disabled, is enabled again.
UPDATE vigil.rules SET enabled = false WHERE kind = 'model';
SELECT model = :small AS activated, previous_model = :model AS replaced, rule
FROM vigil.activate_model(:small);
SELECT id = :small AS is_small, state FROM vigil.models WHERE state <> 'inactive';
-- No rule of kind model (and the name taken): one is added beside it.
DELETE FROM vigil.rules WHERE kind = 'model';
INSERT INTO vigil.rules (watch_id, name, kind) SELECT id, 'model', 'new_merchant' FROM vigil.watches;
SELECT rule FROM vigil.activate_model(:small);
SELECT name, kind, params, enabled FROM vigil.rules WHERE name LIKE 'model%' ORDER BY name;
DELETE FROM vigil.rules WHERE name = 'model';
UPDATE vigil.rules SET name = 'model' WHERE name = 'model_2';

-- Errors: a NULL or unknown model, a model of another watch, an unwatched
-- table.
CREATE TABLE tx2 (id int PRIMARY KEY, card int, amount numeric, ts timestamptz);
SELECT vigil.watch('tx2', 'card', 'amount', 'ts') > 0 AS watched;
SELECT try($$SELECT vigil.activate_model(NULL)$$);
SELECT try($$SELECT vigil.activate_model(999999)$$);
SELECT try($$SELECT count(*) FROM vigil.replay('tx2', model => $$ || :model || $$)$$);
SELECT try($$SELECT * FROM vigil.evaluate('tx', 'fraud', model => 999999)$$);
SELECT try($$SELECT vigil.deactivate_model('other')$$);
SELECT try($$SELECT vigil.deactivate_model(NULL)$$);

-- Models written by hand are checked: trees that do not decode, features
-- this version does not compute, categories out of order.
SELECT try(format($$INSERT INTO vigil.models (watch_id, label_column, first_event, validation_from,
	last_event, train_rows, features, categories, params, validation, trees)
	SELECT watch_id, label_column, first_event, validation_from, last_event, train_rows, %s,
		   params, validation, %s FROM vigil.models WHERE id = %s$$, f, t, :small))
FROM (VALUES ('features, categories', $$'\x00'::bytea$$),
			 ('features, categories', 'substring(trees from 1 for 40)'),
			 ($$features[1:3] || '{tomorrow}', categories$$, 'trees'),
			 ('features, categories || categories', 'trees'),
			 ('features, categories', 'trees')) v(f, t);
SELECT try($$UPDATE vigil.models SET features[1] = 'amount_usd'$$);
SELECT count(*) AS models FROM vigil.models;

-- Shadow scoring: a second model scores beside the active one without
-- alerting; vigil.shadow_scores gets the rows either alerts on, with the
-- score the watch would give them with the shadow model active.
UPDATE vigil.watches SET alert_threshold = 0.5;
SELECT vigil.shadow_model(:model) AS previous_shadow;
SELECT id = :model AS is_model, state FROM vigil.models WHERE state <> 'inactive' ORDER BY state;
INSERT INTO tx VALUES (100003, 7, 60, '2025-05-02 01:00+00', 'electronics', NULL, NULL, false),
					  (100004, 8, 11, '2025-05-02 13:00+00', 'grocery', NULL, NULL, false);
SELECT s.row_ref ->> 'id' AS id, s.model_id = :model AS by_shadow, s.key, s.amount,
	   s.score >= 0.5 AS would_alert, s.probability > 0.5 AS likely_fraud, s.alerted,
	   s.alerted = EXISTS (SELECT FROM vigil.alerts a WHERE a.row_ref = s.row_ref) AS alerted_agrees
FROM vigil.shadow_scores s ORDER BY s.id;
-- The active model cannot also be the shadow; another replaces the
-- shadow; unshadowing stops the recording.
SELECT try($$SELECT vigil.shadow_model($$ || :small || $$)$$);
SELECT vigil.shadow_model(:small + 1) = :model AS replaced_shadow;
SELECT vigil.unshadow_model('tx') = :small + 1 AS unshadowed;
SELECT vigil.unshadow_model('tx') AS nothing_shadowed;
SELECT try($$SELECT vigil.unshadow_model('other')$$);
INSERT INTO tx VALUES (100005, 7, 60, '2025-05-03 01:00+00', 'electronics', NULL, NULL, false);
SELECT count(*) AS shadow_scores FROM vigil.shadow_scores;

-- Deactivation: rules alone from the next statement.
SELECT vigil.deactivate_model('tx') = :small AS deactivated;
SELECT vigil.deactivate_model('tx') AS nothing_active;
SELECT count(*) AS active FROM vigil.models WHERE state = 'active';

-- Activation is for superusers and vigil_admin.
SET ROLE train_user;
SELECT try($$SELECT vigil.activate_model($$ || :model || $$)$$);
SELECT try($$SELECT vigil.deactivate_model('tx')$$);
SET ROLE train_admin;
SET client_min_messages = warning;
SELECT model = :model AS activated_by_admin FROM vigil.activate_model(:model);
SELECT vigil.deactivate_model('tx') = :model AS deactivated_by_admin;
RESET client_min_messages;
RESET ROLE;

-- Unwatching drops the watch's models.
SELECT vigil.unwatch('tx');
SELECT count(*) AS models FROM vigil.models;
DROP TABLE tx, tx2, other;
DROP ROLE train_user, train_admin;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
