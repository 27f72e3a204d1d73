
-- Labels in daily use (issue 23): analysts' verdicts on alerts, the watched
-- table's own label column, and the nightly retraining that reads both.

-- One verdict per row of a watched table: fraud or not, by whom, when.
-- Keyed by the row (its primary key, as the alert's row_ref), not by the
-- alert, so that verdicts outlive vigil.purge_alerts; labelling the row
-- again replaces its verdict.  Unwatching the table deletes them, as it
-- deletes its models.
CREATE TABLE vigil.verdicts (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	-- the row's primary key (an alert's row_ref); a table without one
	-- gives every row the same, so a verdict could not name a row
	row_ref jsonb NOT NULL CHECK (row_ref <> '{}'),
	-- the alert the verdict was given on (no foreign key: alerts are purged)
	alert_id bigint,
	fraud boolean NOT NULL,
	note text,
	labelled_by name NOT NULL DEFAULT current_user,
	labelled_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (watch_id, row_ref)
);

COMMENT ON TABLE vigil.verdicts IS
	'analysts'' verdicts on alerted rows (vigil.label): fraud or not; vigil.train and vigil.retrain read them as labels';

SELECT pg_catalog.pg_extension_config_dump('vigil.verdicts', '');

-- Record a verdict on an alert's row (current_user, now()), replacing the
-- row's verdict if it has one.  Returns the verdict replaced (NULL: none).
-- For superusers and vigil_admin.
CREATE FUNCTION vigil.label(alert_id bigint, fraud boolean, note text DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	a record;
	previous boolean;
BEGIN
	IF label.alert_id IS NULL OR label.fraud IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'alert_id and fraud must not be NULL';
	END IF;
	SELECT al.watch_id, al.row_ref, al.relation INTO a FROM vigil.alerts al WHERE al.id = label.alert_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('alert %s does not exist', label.alert_id),
			HINT = 'vigil.alerts lists the alerts; a purged alert''s verdict stays in vigil.verdicts.';
	END IF;
	IF NOT EXISTS (SELECT FROM vigil.watches w WHERE w.id = a.watch_id) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('the table of alert %s is no longer watched', label.alert_id);
	END IF;
	IF a.row_ref = '{}' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('alert %s does not name its row', label.alert_id),
			DETAIL = format('Table %s had no primary key when the alert was raised.',
							vigil.table_name(a.relation)),
			HINT = 'A verdict names its row by the primary key: add one to the table.';
	END IF;
	SELECT v.fraud INTO previous FROM vigil.verdicts v
	WHERE v.watch_id = a.watch_id AND v.row_ref = a.row_ref FOR UPDATE;
	INSERT INTO vigil.verdicts AS v (watch_id, row_ref, alert_id, fraud, note)
	VALUES (a.watch_id, a.row_ref, label.alert_id, label.fraud, label.note)
	ON CONFLICT ON CONSTRAINT verdicts_pkey DO UPDATE
	SET alert_id = excluded.alert_id, fraud = excluded.fraud, note = excluded.note,
		labelled_by = current_user, labelled_at = now();
	RETURN previous;
END
$$;

COMMENT ON FUNCTION vigil.label(bigint, boolean, text) IS
	'record an analyst''s verdict on an alert''s row (fraud or not, with a note), replacing the row''s verdict; returns the verdict replaced';

-- Name the watched table's own label column (boolean, or an integer 0 or
-- 1), or none with NULL; vigil.train with no label column, vigil.retrain
-- and its nightly job read it.  Returns the column it replaces (NULL:
-- none).  For superusers and vigil_admin.
CREATE FUNCTION vigil.set_label(relation regclass, label_column name)
	RETURNS name
	AS 'MODULE_PATHNAME', 'vigil_set_label'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.set_label(regclass, name) IS
	'name the watched table''s label column (boolean or 0/1 integer; NULL: none), read with analysts'' verdicts by vigil.train and vigil.retrain; returns the one before';

-- Train a candidate on the watch's labels (vigil.train with the watch's
-- label column and the analysts' verdicts) and activate it only if its
-- PR-AUC on its validation rows is not below that of the watch's active
-- model on the same rows (or, with none, of the rules), calibrating the
-- threshold to the watch's alert_budget.  The decision and why are stored
-- on the candidate's row of vigil.models.  For superusers and vigil_admin.
CREATE FUNCTION vigil.retrain(relation regclass, options jsonb DEFAULT '{}',
							  OUT model bigint, OUT decision text, OUT pr_auc float8,
							  OUT previous_model bigint, OUT previous_pr_auc float8,
							  OUT alert_threshold float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vigil_retrain'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.retrain(regclass, jsonb) IS
	'train a model on the watch''s labels and verdicts and activate it only if it ranks its validation rows at least as well as the active model (or the rules); returns the decision, also stored in vigil.models';

REVOKE ALL ON FUNCTION vigil.label(bigint, boolean, text), vigil.set_label(regclass, name),
	vigil.retrain(regclass, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.label(bigint, boolean, text), vigil.set_label(regclass, name),
	vigil.retrain(regclass, jsonb) TO vigil_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON vigil.verdicts TO vigil_admin;
GRANT UPDATE (decision, decision_detail) ON vigil.models TO vigil_admin;
