-- Learned models: gradient-boosted trees trained by vigil.train on a
-- watched table's labelled history (libxgboost), with their measures on the
-- held-out latest part of it.

CREATE TABLE vigil.models (
	id bigserial PRIMARY KEY,
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by name NOT NULL DEFAULT current_user,
	-- the table's label column it learned from; NULL: analysts' verdicts
	-- only (vigil.verdicts), which it also read for the rows the column
	-- leaves NULL
	label_column text,
	-- the labelled rows' event times: trained on [first_event,
	-- validation_from), measured on [validation_from, last_event]
	first_event timestamptz NOT NULL,
	validation_from timestamptz NOT NULL,
	last_event timestamptz NOT NULL,
	train_rows bigint NOT NULL CHECK (train_rows > 0),
	-- the feature vector, in order (docs/models.md)
	features text[] NOT NULL,
	-- the category feature's codes: the hashes of the categories it knows
	categories bigint[] NOT NULL,
	-- vigil.train's options, defaults filled in
	params jsonb NOT NULL,
	-- measures on the validation rows: rows, positives, pr_auc, roc_auc,
	-- and threshold, precision and recall at a 1% alert rate
	validation jsonb NOT NULL,
	-- the trees, in pg_vigil's own form (src/detect/core/trees.h)
	trees bytea NOT NULL,
	-- active: the watch's scorer, through its rule of kind model
	-- (vigil.activate_model); shadow: scored beside it without alerting
	-- (vigil.shadow_model); at most one of each per watch
	state text NOT NULL DEFAULT 'inactive' CHECK (state IN ('inactive', 'active', 'shadow')),
	state_changed_at timestamptz,
	-- what vigil.retrain did with the model: activated it, or kept the
	-- watch's scorer; NULL for a model vigil.train made
	decision text CHECK (decision IN ('activated', 'kept')),
	-- why: both PR-AUCs on the same validation rows, the rows, the threshold
	decision_detail jsonb,
	CHECK (first_event <= validation_from AND validation_from <= last_event)
);

COMMENT ON TABLE vigil.models IS 'learned models of each watch (vigil.train), with their validation measures and state';

CREATE INDEX models_watch ON vigil.models (watch_id);
CREATE UNIQUE INDEX models_in_use ON vigil.models (watch_id, state) WHERE state <> 'inactive';

-- A model this version could not score with exactly as it was validated
-- (trees that do not decode, features it does not compute) is refused, so
-- that a model copied from another database is checked before any watch
-- can use it.
CREATE FUNCTION vigil.models_validate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vigil_models_validate'
	LANGUAGE C;

REVOKE ALL ON FUNCTION vigil.models_validate() FROM PUBLIC;

CREATE TRIGGER models_validate BEFORE INSERT OR UPDATE OF trees, features, categories
	ON vigil.models FOR EACH ROW EXECUTE FUNCTION vigil.models_validate();

-- Backends cache each watch's active model with its rules.
CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.models
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

SELECT pg_catalog.pg_extension_config_dump('vigil.models', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.models_id_seq', '');

-- Reads the table as its caller (SELECT on every column, no row security
-- in the way), like replay; stores the model as its caller.  For
-- superusers and vigil_admin.
CREATE FUNCTION vigil.train(relation regclass, label_column text,
							since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
							options jsonb DEFAULT '{}')
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_train'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.train(regclass, text, timestamptz, timestamptz, jsonb) IS
	'train gradient-boosted trees on the labelled rows in [since, until) (features from each card''s profile before the row), the latest share held out for validation; label_column NULL: the watch''s (vigil.set_label); analysts'' verdicts label rows too, and rows younger than the label maturity are left out unless labelled by one; stores the model in vigil.models and returns its id';

REVOKE ALL ON FUNCTION vigil.train(regclass, text, timestamptz, timestamptz, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.train(regclass, text, timestamptz, timestamptz, jsonb) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.models TO vigil_admin;
GRANT UPDATE (state, state_changed_at) ON vigil.models TO vigil_admin;
GRANT USAGE ON SEQUENCE vigil.models_id_seq TO vigil_admin;

-- The watch's rule of kind model, enabled: the first enabled one by name,
-- else the first one enabled, else a new one with the defaults named
-- "model" (or "model_2", ... if that name is taken).  Returns its name.
CREATE FUNCTION vigil.ensure_model_rule(watch int)
	RETURNS text
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	r record;
	candidate text := 'model';
	n int := 1;
BEGIN
	SELECT ru.name, ru.enabled INTO r FROM vigil.rules ru
	WHERE ru.watch_id = watch AND ru.kind = 'model'
	ORDER BY ru.enabled DESC, ru.name LIMIT 1;
	IF FOUND THEN
		IF NOT r.enabled THEN
			UPDATE vigil.rules ru SET enabled = true WHERE ru.watch_id = watch AND ru.name = r.name;
			RAISE NOTICE 'rule "%" of kind model enabled', r.name;
		END IF;
		RETURN r.name;
	END IF;
	WHILE EXISTS (SELECT FROM vigil.rules ru WHERE ru.watch_id = watch AND ru.name = candidate) LOOP
		n := n + 1;
		candidate := 'model_' || n;
	END LOOP;
	INSERT INTO vigil.rules (watch_id, name, kind, params, weight, enabled)
	SELECT watch, candidate, d.kind, d.params, d.weight, true
	FROM vigil.rule_defaults() d WHERE d.kind = 'model';
	RETURN candidate;
END
$$;

REVOKE ALL ON FUNCTION vigil.ensure_model_rule(int) FROM PUBLIC;

-- A model's row, locked with its watch's row: the watch's lock serializes
-- the activations of its models.  Errors for a NULL or unknown id.
CREATE FUNCTION vigil.lock_model(id bigint, OUT watch_id int, OUT relation regclass,
								 OUT state text, OUT validation_from timestamptz,
								 OUT alert_threshold float8)
	RETURNS record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
BEGIN
	IF lock_model.id IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'model id must not be NULL';
	END IF;
	SELECT m.watch_id INTO lock_model.watch_id FROM vigil.models m WHERE m.id = lock_model.id;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('model %s does not exist', lock_model.id);
	END IF;
	SELECT w.relation, w.alert_threshold INTO lock_model.relation, lock_model.alert_threshold
	FROM vigil.watches w WHERE w.id = lock_model.watch_id FOR UPDATE;
	SELECT m.state, m.validation_from INTO lock_model.state, lock_model.validation_from
	FROM vigil.models m WHERE m.id = lock_model.id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('model %s does not exist', lock_model.id);
	END IF;
END
$$;

REVOKE ALL ON FUNCTION vigil.lock_model(bigint) FROM PUBLIC;

-- Make a model its watch's scorer from the next statement: it becomes the
-- active one (the one before goes back to inactive), and the watch's rule
-- of kind model is enabled (added if there is none).  With alert_rate,
-- the watch's threshold is then calibrated (vigil.calibrate) on the rows
-- the model was validated on and after: calibrating on the rows it was
-- trained on would set the threshold by scores it is too sure of.  For
-- superusers and vigil_admin.
CREATE FUNCTION vigil.activate_model(id bigint, alert_rate float8 DEFAULT NULL,
									 OUT model bigint, OUT previous_model bigint, OUT rule text,
									 OUT alert_threshold float8, OUT previous_threshold float8)
	RETURNS record
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	m record;
BEGIN
	m := vigil.lock_model(activate_model.id);
	SELECT x.id INTO activate_model.previous_model FROM vigil.models x
	WHERE x.watch_id = m.watch_id AND x.state = 'active';
	IF previous_model IS DISTINCT FROM activate_model.id THEN
		UPDATE vigil.models x SET state = 'inactive', state_changed_at = now()
		WHERE x.id = previous_model;
		UPDATE vigil.models x SET state = 'active', state_changed_at = now()
		WHERE x.id = activate_model.id;
	END IF;
	model := activate_model.id;
	rule := vigil.ensure_model_rule(m.watch_id);
	previous_threshold := m.alert_threshold;
	IF activate_model.alert_rate IS NULL THEN
		activate_model.alert_threshold := m.alert_threshold;
		RAISE NOTICE 'the watch''s alert threshold is still %', m.alert_threshold
			USING HINT = format('To alert on a share of rows with the model, calibrate: '
								'SELECT * FROM vigil.calibrate(%L, 0.01, %L);',
								m.relation,
								to_char(m.validation_from AT TIME ZONE 'UTC',
										'YYYY-MM-DD HH24:MI:SS+00'));
	ELSE
		SELECT c.threshold INTO activate_model.alert_threshold
		FROM vigil.calibrate(m.relation, activate_model.alert_rate, m.validation_from) c;
	END IF;
END
$$;

COMMENT ON FUNCTION vigil.activate_model(bigint, float8) IS
	'make a model its watch''s scorer from the next statement (through its rule of kind model, enabled or added); with alert_rate, calibrate the watch''s threshold to it on the rows from the model''s validation on';

-- The watch on relation's model in state from_state (active or shadow),
-- made inactive; returns it (NULL: there was none).
CREATE FUNCTION vigil.set_model_aside(relation regclass, from_state text)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	watch int;
	previous bigint;
BEGIN
	IF relation IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation must not be NULL';
	END IF;
	SELECT w.id INTO watch FROM vigil.watches w WHERE w.relation = set_model_aside.relation FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', relation);
	END IF;
	UPDATE vigil.models x SET state = 'inactive', state_changed_at = now()
	WHERE x.watch_id = watch AND x.state = from_state
	RETURNING x.id INTO previous;
	RETURN previous;
END
$$;

REVOKE ALL ON FUNCTION vigil.set_model_aside(regclass, text) FROM PUBLIC;

-- Stop scoring with the watch's active model: rules alone from the next
-- statement.  Returns the model that was active (NULL: none was).
CREATE FUNCTION vigil.deactivate_model(relation regclass)
	RETURNS bigint
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vigil.set_model_aside(relation, 'active') $$;

COMMENT ON FUNCTION vigil.deactivate_model(regclass) IS
	'stop scoring with the watch''s active model (rules alone from the next statement); returns the model that was active';

-- What a watch's shadow model made of the rows it scored: every row that
-- the watch would have alerted on with the model active, and every row it
-- did alert on (alerted), with the score it would have had.  Compare
-- before switching: rows with alerted and score below the watch's
-- threshold are the alerts the model would drop; rows without alerted, the
-- ones it would add.
-- No foreign key to vigil.models: the check would make an insert that
-- scores with a cached model fail, or wait, when the model is deleted
-- meanwhile; like alerts, the rows outlive what made them.
CREATE TABLE vigil.shadow_scores (
	id bigserial PRIMARY KEY,
	model_id bigint NOT NULL,
	watch_id int NOT NULL,
	row_ref jsonb NOT NULL,
	key text NOT NULL,
	event_time timestamptz NOT NULL,
	amount float8 NOT NULL,
	-- the row's score had the model been active (rules and model)
	score float8 NOT NULL,
	-- the model's probability of fraud for the row
	probability float8 NOT NULL,
	-- whether the watch's scorer alerted on the row
	alerted boolean NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE vigil.shadow_scores IS
	'rows a shadow model would have alerted on, or the watch alerted on, with the score the model would have given them';

CREATE INDEX shadow_scores_model ON vigil.shadow_scores (model_id, event_time);

SELECT pg_catalog.pg_extension_config_dump('vigil.shadow_scores', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.shadow_scores_id_seq', '');

-- Score with a model beside the watch's scorer from the next statement,
-- without alerting: it becomes the watch's shadow model (the one before
-- goes back to inactive) and detection records what it would have done
-- in vigil.shadow_scores.  Returns the shadow model before (NULL: none).
CREATE FUNCTION vigil.shadow_model(id bigint)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	m record;
	previous bigint;
BEGIN
	m := vigil.lock_model(shadow_model.id);
	IF m.state = 'active' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('model %s is the active model of its watch', shadow_model.id),
			HINT = 'A model is either active or in the shadow; vigil.deactivate_model first.';
	END IF;
	SELECT x.id INTO previous FROM vigil.models x WHERE x.watch_id = m.watch_id AND x.state = 'shadow';
	IF previous IS DISTINCT FROM shadow_model.id THEN
		UPDATE vigil.models x SET state = 'inactive', state_changed_at = now() WHERE x.id = previous;
		UPDATE vigil.models x SET state = 'shadow', state_changed_at = now() WHERE x.id = shadow_model.id;
	END IF;
	RETURN previous;
END
$$;

COMMENT ON FUNCTION vigil.shadow_model(bigint) IS
	'score with a model beside the watch''s scorer from the next statement, without alerting, recording in vigil.shadow_scores what it would have done; returns the shadow model before';

-- Stop shadow scoring.  Returns the model that was in the shadow (NULL:
-- none was).
CREATE FUNCTION vigil.unshadow_model(relation regclass)
	RETURNS bigint
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
	AS $$ SELECT vigil.set_model_aside(relation, 'shadow') $$;

COMMENT ON FUNCTION vigil.unshadow_model(regclass) IS
	'stop scoring with the watch''s shadow model; returns the model that was in the shadow';

REVOKE ALL ON FUNCTION vigil.activate_model(bigint, float8), vigil.deactivate_model(regclass),
	vigil.shadow_model(bigint), vigil.unshadow_model(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.activate_model(bigint, float8), vigil.deactivate_model(regclass),
	vigil.shadow_model(bigint), vigil.unshadow_model(regclass),
	vigil.ensure_model_rule(int), vigil.lock_model(bigint), vigil.set_model_aside(regclass, text)
	TO vigil_admin;
GRANT SELECT, DELETE ON vigil.shadow_scores TO vigil_admin;
