-- Detection measured against labels, and the alert budget: vigil.evaluate,
-- vigil.evaluate_rules, vigil.calibrate.
--
-- Each replays the watched table as vigil.replay does (profiles from every
-- earlier row) and scores every row with every rule; since and until choose
-- the rows counted.  They read the table as their caller (SELECT on every
-- column, no row security in the way), like replay.

CREATE FUNCTION vigil.evaluate(relation regclass, label_column text,
							   since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
							   threshold float8 DEFAULT NULL, model bigint DEFAULT NULL,
							   OUT rows bigint, OUT positives bigint, OUT alert_threshold float8,
							   OUT alerts bigint, OUT caught bigint, OUT alert_rate float8,
							   OUT "precision" float8, OUT recall float8, OUT f1 float8,
							   OUT pr_auc float8, OUT roc_auc float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vigil_evaluate'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION vigil.evaluate(regclass, text, timestamptz, timestamptz, float8, bigint) IS
	'the watch''s rules, active model (or that model) and threshold (or that threshold) against a label column (boolean or 0/1; NULL rows left out) over the rows in [since, until): alert rate, precision, recall, F1, PR-AUC (average precision) and ROC-AUC; changes nothing';

CREATE FUNCTION vigil.evaluate_rules(relation regclass, label_column text,
									 since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
	RETURNS TABLE (rule text, kind text, weight float8, fired bigint, fired_rate float8,
				   "precision" float8, recall float8, pr_auc_without float8, pr_auc_added float8)
	AS 'MODULE_PATHNAME', 'vigil_evaluate_rules'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION vigil.evaluate_rules(regclass, text, timestamptz, timestamptz) IS
	'per enabled rule, on the labelled rows in [since, until): how often it fired, its precision and recall there, and the PR-AUC without it (pr_auc_added: what it adds); changes nothing';

-- Sets the watch's threshold: for superusers and vigil_admin (it updates
-- vigil.watches as its caller).
CREATE FUNCTION vigil.calibrate(relation regclass, alert_rate float8, since timestamptz DEFAULT NULL,
								OUT threshold float8, OUT reached_rate float8, OUT alerts bigint,
								OUT rows bigint, OUT previous_threshold float8)
	RETURNS record
	AS 'MODULE_PATHNAME', 'vigil_calibrate'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.calibrate(regclass, float8, timestamptz) IS
	'set the watch''s alert_threshold so that a replay of the rows since then (NULL: all) alerts on that share of them, as near as ties allow; returns the threshold, the share (reached_rate) and number of rows it alerts on, the rows counted and the threshold before';

REVOKE ALL ON FUNCTION vigil.calibrate(regclass, float8, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.calibrate(regclass, float8, timestamptz) TO vigil_admin;

-- Searches the enabled rules' parameters and weights against the labels
-- (the latest quarter of the rows' time held out) and proposes them; writes
-- them to vigil.rules only with apply.  For superusers and vigil_admin.
CREATE FUNCTION vigil.tune(relation regclass, label_column text, since timestamptz DEFAULT NULL,
						   until timestamptz DEFAULT NULL, apply boolean DEFAULT false)
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'vigil_tune'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.tune(regclass, text, timestamptz, timestamptz, boolean) IS
	'search the enabled rules'' parameters and weights against a label column over the rows in [since, until), the latest quarter held out; returns the measures before and after and the changes; applies them only with apply';

REVOKE ALL ON FUNCTION vigil.tune(regclass, text, timestamptz, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.tune(regclass, text, timestamptz, timestamptz, boolean) TO vigil_admin;
