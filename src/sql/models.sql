-- Learned models: gradient-boosted trees trained by vigil.train on a
-- watched table's labelled history (libxgboost), with their measures on the
-- held-out latest part of it.

CREATE TABLE vigil.models (
	id bigserial PRIMARY KEY,
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by name NOT NULL DEFAULT current_user,
	label_column text NOT NULL,
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
	CHECK (first_event <= validation_from AND validation_from <= last_event)
);

COMMENT ON TABLE vigil.models IS 'learned models of each watch (vigil.train), with their validation measures';

CREATE INDEX models_watch ON vigil.models (watch_id);

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
	'train gradient-boosted trees on the labelled rows in [since, until) (features from each card''s profile before the row), the latest share held out for validation; stores the model in vigil.models and returns its id';

REVOKE ALL ON FUNCTION vigil.train(regclass, text, timestamptz, timestamptz, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.train(regclass, text, timestamptz, timestamptz, jsonb) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.models TO vigil_admin;
GRANT USAGE ON SEQUENCE vigil.models_id_seq TO vigil_admin;
