-- pg_vigil: streaming fraud and anomaly detection inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION vigil" to load this file. \quit

COMMENT ON SCHEMA vigil IS 'pg_vigil: rolling statistics, detection rules and alerts';
-- The vigil.stats summary type, the stats_agg and rollup aggregates, and
-- the accessors that read a summary.

CREATE TYPE vigil.stats;

CREATE FUNCTION vigil.stats_in(cstring) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_out(vigil.stats) RETURNS cstring
	AS 'MODULE_PATHNAME', 'vigil_stats_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_recv(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_send(vigil.stats) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_stats_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vigil.stats (
	INPUT = vigil.stats_in,
	OUTPUT = vigil.stats_out,
	RECEIVE = vigil.stats_recv,
	SEND = vigil.stats_send,
	INTERNALLENGTH = 40,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE vigil.stats IS
	'summary of float8 values: count, mean, sum of squared deviations (m2), min, max';

-- Aggregate support.  They take or return internal, so SQL cannot call them
-- directly; only the aggregates below can.

CREATE FUNCTION vigil.stats_trans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_trans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_rollup_trans(internal, vigil.stats) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_rollup_trans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_stats_serialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_deserialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_final(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_mtrans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_mtrans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_minvtrans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_minvtrans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_mfinal(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_mfinal'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE vigil.stats_agg(float8) (
	SFUNC = vigil.stats_trans,
	STYPE = internal,
	SSPACE = 48,
	FINALFUNC = vigil.stats_final,
	COMBINEFUNC = vigil.stats_combine,
	SERIALFUNC = vigil.stats_serialize,
	DESERIALFUNC = vigil.stats_deserialize,
	MSFUNC = vigil.stats_mtrans,
	MINVFUNC = vigil.stats_minvtrans,
	MSTYPE = internal,
	MSSPACE = 600,
	MFINALFUNC = vigil.stats_mfinal,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE vigil.stats_agg(float8) IS
	'summary (vigil.stats) of the non-null finite values; NaN and infinities are ignored';

CREATE AGGREGATE vigil.rollup(vigil.stats) (
	SFUNC = vigil.stats_rollup_trans,
	STYPE = internal,
	SSPACE = 48,
	FINALFUNC = vigil.stats_final,
	COMBINEFUNC = vigil.stats_combine,
	SERIALFUNC = vigil.stats_serialize,
	DESERIALFUNC = vigil.stats_deserialize,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE vigil.rollup(vigil.stats) IS
	'merges summaries into the summary of all their values';

-- Accessors.

CREATE FUNCTION vigil.count(vigil.stats) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_stats_count'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.count(vigil.stats) IS 'number of values summarised';

CREATE FUNCTION vigil.mean(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_mean'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.mean(vigil.stats) IS 'mean of the values';

CREATE FUNCTION vigil.variance(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_variance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.variance(vigil.stats) IS
	'sample variance, like var_samp; NULL for one value';

CREATE FUNCTION vigil.stddev(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_stddev'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.stddev(vigil.stats) IS
	'sample standard deviation, like stddev_samp; NULL for one value';

CREATE FUNCTION vigil.min(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_min'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.min(vigil.stats) IS 'smallest value';

CREATE FUNCTION vigil.max(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_max'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.max(vigil.stats) IS 'largest value';

CREATE FUNCTION vigil.zscore(vigil.stats, float8) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_zscore'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.zscore(vigil.stats, float8) IS
	'(x - mean) / sample standard deviation; NULL when fewer than two values or all equal';
-- The detection engine: per-key profiles, watches, rules as data, alerts.

CREATE TYPE vigil.profile;

CREATE FUNCTION vigil.profile_in(cstring) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_profile_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_out(vigil.profile) RETURNS cstring
	AS 'MODULE_PATHNAME', 'vigil_profile_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_recv(internal) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_profile_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_send(vigil.profile) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_profile_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vigil.profile (
	INPUT = vigil.profile_in,
	OUTPUT = vigil.profile_out,
	RECEIVE = vigil.profile_recv,
	SEND = vigil.profile_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE vigil.profile IS
	'what detection knows about one key: amount statistics, recent events, location, hours, merchants';

CREATE FUNCTION vigil.profile_json(vigil.profile) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'vigil_profile_json'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vigil.profile_json(vigil.profile) IS
	'the profile for people: n, mean, stddev, min, max, recent mean and stddev, last time and location, ...';

-- One row per watched table.  Columns are kept as attribute numbers, so
-- renaming a watched column does not break detection; vigil.watch_columns
-- shows their current names.
CREATE TABLE vigil.watches (
	id serial PRIMARY KEY,
	relation regclass NOT NULL UNIQUE,
	key_attnum int2 NOT NULL,
	amount_attnum int2 NOT NULL,
	time_attnum int2 NOT NULL,
	lat_attnum int2,
	lon_attnum int2,
	merchant_attnum int2,
	category_attnum int2,
	alert_threshold float8 NOT NULL DEFAULT 0.5
		CHECK (alert_threshold > 0 AND alert_threshold <= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- where this watch's alerts go; NULL: vigil.sns_topic_arn
	sns_topic_arn text CHECK (sns_topic_arn ~ '^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\.fifo)?$')
);

COMMENT ON TABLE vigil.watches IS 'tables under detection (vigil.watch, vigil.unwatch)';

CREATE TABLE vigil.rules (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	name text NOT NULL,
	kind text NOT NULL,
	params jsonb NOT NULL DEFAULT '{}',
	weight float8 NOT NULL DEFAULT 1 CHECK (weight >= 0 AND weight <= 1),
	enabled boolean NOT NULL DEFAULT true,
	PRIMARY KEY (watch_id, name)
);

COMMENT ON TABLE vigil.rules IS
	'detection rules: change params, weight or enabled with UPDATE; effective from the next statement';

-- No foreign key to vigil.watches: the check would cost every new key a
-- lookup on the hot path, and unwatch() removes a watch's profiles itself.
-- Keys compare bytewise (COLLATE "C"): every statement finds its keys'
-- rows through the primary key, and a locale's collation would cost each
-- comparison of that search a strcoll() for an order nobody reads; it is
-- also the order detection locks keys in.  A profile row is about 560
-- bytes; fillfactor 50 leaves room on each page for a new version of every
-- row on it, so that a statement updating many keys once each (a COPY)
-- updates them all in place (HOT), without new index entries: with 70,
-- six rows in ten moved to another page.
CREATE TABLE vigil.profiles (
	watch_id int NOT NULL,
	key text COLLATE "C" NOT NULL,
	profile vigil.profile,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (watch_id, key)
) WITH (fillfactor = 50);

COMMENT ON TABLE vigil.profiles IS 'one profile per watched key, maintained by the detection trigger';

CREATE TABLE vigil.alerts (
	id bigserial PRIMARY KEY,
	watch_id int NOT NULL,
	relation regclass NOT NULL,
	row_ref jsonb NOT NULL,
	key text NOT NULL,
	amount float8 NOT NULL,
	event_time timestamptz NOT NULL,
	score float8 NOT NULL,
	fired text[] NOT NULL,
	explanation jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_attempt_at timestamptz,
	delivered_at timestamptz,
	message_id text,
	last_error text
);

-- The notifier's queue, in the order it claims from: with id in the key,
-- a batch is the first rows of an index scan however many alerts are due
-- at the same instant (all of one statement's are).
CREATE INDEX alerts_due ON vigil.alerts (next_attempt_at, id) WHERE status = 'pending';

COMMENT ON TABLE vigil.alerts IS 'flagged transactions, and their delivery state (an outbox)';

-- Rows detection could not score (NULL key, amount or time; NaN or
-- infinite amount; out-of-range location), with the reason.
CREATE TABLE vigil.skipped (
	watch_id int NOT NULL,
	relation regclass NOT NULL,
	row_ref jsonb NOT NULL,
	reason text NOT NULL,
	skipped_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE vigil.skipped IS 'inserted rows that detection did not score, and why';

-- Users' data: pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('vigil.watches', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.watches_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.rules', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.alerts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.skipped', '');

CREATE VIEW vigil.watch_columns AS
SELECT w.id AS watch_id, w.relation,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.key_attnum) AS key_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum) AS amount_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum) AS time_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lat_attnum) AS lat_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lon_attnum) AS lon_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum) AS merchant_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum) AS category_column,
	   w.alert_threshold,
	   (SELECT count(*) FROM vigil.skipped s WHERE s.watch_id = w.id) AS rows_skipped
FROM vigil.watches w;

COMMENT ON VIEW vigil.watch_columns IS 'watches with their columns by current name, and how many rows were skipped';

CREATE VIEW vigil.profile_summary AS
SELECT p.watch_id, w.relation, p.key,
	   (j ->> 'n')::bigint AS n,
	   (j ->> 'mean')::float8 AS mean,
	   (j ->> 'stddev')::float8 AS stddev,
	   (j ->> 'min')::float8 AS min,
	   (j ->> 'max')::float8 AS max,
	   (j ->> 'recent_mean')::float8 AS recent_mean,
	   (j ->> 'last_time')::timestamptz AS last_seen,
	   p.updated_at
FROM vigil.profiles p
	 JOIN vigil.watches w ON w.id = p.watch_id,
	 LATERAL vigil.profile_json(p.profile) j
WHERE p.profile IS NOT NULL;

COMMENT ON VIEW vigil.profile_summary IS 'per-key profiles in columns, for people and BI tools';
-- Watching tables: vigil.watch, vigil.unwatch, the detection trigger, rule
-- validation, and cleaning up when a watched table or column is dropped.

CREATE FUNCTION vigil.rule_defaults(OUT kind text, OUT params jsonb, OUT weight float8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'vigil_rule_defaults_srf'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vigil.rule_defaults() IS 'every rule kind with its default parameters and weight';

CREATE FUNCTION vigil.rules_validate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vigil_rules_validate'
	LANGUAGE C;

REVOKE ALL ON FUNCTION vigil.rules_validate() FROM PUBLIC;

CREATE TRIGGER rules_validate BEFORE INSERT OR UPDATE ON vigil.rules
	FOR EACH ROW EXECUTE FUNCTION vigil.rules_validate();

-- Backends cache watches and rules; writing either makes them all forget.
CREATE FUNCTION vigil.invalidate_watches() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vigil_invalidate_watches'
	LANGUAGE C;

REVOKE ALL ON FUNCTION vigil.invalidate_watches() FROM PUBLIC;

CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.watches
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();
CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.rules
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

-- The detection trigger function.  It runs as its owner with only
-- pg_catalog on the search path, switching itself as PostgreSQL's
-- foreign-key triggers do (SECURITY DEFINER with SET search_path would do
-- the same at several times the cost per statement), so that inserters need
-- no privileges on vigil's tables.  Only its owner and vigil_admin (for
-- vigil.watch) may attach it to a table, and it scores only for its watch's
-- own table, so nobody can write another watch's profiles and alerts.
CREATE FUNCTION vigil.detect() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vigil_detect'
	LANGUAGE C;

REVOKE ALL ON FUNCTION vigil.detect() FROM PUBLIC;

-- Called back by the detection trigger's own statement to compute a key's
-- new profile while its row is locked; refuses to run anywhere else.
CREATE FUNCTION vigil.fold_profile(key text, profile vigil.profile) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_fold_profile'
	LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION vigil.fold_profile(text, vigil.profile) FROM PUBLIC;

-- The attribute number of a column of a table that vigil.watch() is about to
-- watch, after checking that it exists and, if types is given, its type.
CREATE FUNCTION vigil.watched_column(relation regclass, col name, role text, types regtype[])
	RETURNS int2
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	att record;
BEGIN
	IF col IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT attnum, atttypid INTO att
	FROM pg_attribute
	WHERE attrelid = relation AND attname = col AND attnum > 0 AND NOT attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_column',
			MESSAGE = format('column "%s" of relation %s does not exist', col, relation),
			HINT = format('The %s column must be a column of the watched table.', role);
	END IF;
	IF types IS NOT NULL AND NOT att.atttypid = ANY (types::oid[]) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'datatype_mismatch',
			MESSAGE = format('%s column "%s" of relation %s has type %s', role, col, relation,
							 format_type(att.atttypid, NULL)),
			DETAIL = format('The %s column must be of type %s.', role,
							array_to_string(types::text[], ', '));
	END IF;
	RETURN att.attnum;
END
$$;

CREATE FUNCTION vigil.watch(relation regclass, key_column name, amount_column name,
							time_column name, lat_column name DEFAULT NULL,
							lon_column name DEFAULT NULL, merchant_column name DEFAULT NULL,
							category_column name DEFAULT NULL,
							alert_threshold float8 DEFAULT 0.5)
	RETURNS int
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	numbers CONSTANT regtype[] := '{int2,int4,int8,float4,float8,numeric}';
	kind "char";
	new_id int;
	key_att int2;
	amount_att int2;
	time_att int2;
	lat_att int2;
	lon_att int2;
	merchant_att int2;
	category_att int2;
BEGIN
	IF relation IS NULL OR key_column IS NULL OR amount_column IS NULL OR time_column IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation, key_column, amount_column and time_column must not be NULL';
	END IF;
	SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = relation;
	IF kind IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_table',
			MESSAGE = format('relation with OID %s does not exist', relation::oid);
	END IF;
	IF kind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION USING
			ERRCODE = 'wrong_object_type',
			MESSAGE = format('%s is not a table', relation),
			HINT = 'vigil.watch() watches tables and partitioned tables.';
	END IF;
	IF (SELECT c.relnamespace FROM pg_class c WHERE c.oid = relation) = 'vigil'::regnamespace THEN
		RAISE EXCEPTION USING
			ERRCODE = 'wrong_object_type',
			MESSAGE = format('%s belongs to vigil and cannot be watched', relation);
	END IF;
	-- A temporary table goes with its session without a DROP, so no event
	-- trigger would forget its watch.
	IF (SELECT c.relpersistence FROM pg_class c WHERE c.oid = relation) = 't' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'feature_not_supported',
			MESSAGE = format('temporary table %s cannot be watched', relation),
			HINT = 'A watch outlives the session; watch a permanent table.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = relation AND contype = 'p') THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_table_definition',
			MESSAGE = format('table %s has no primary key', relation),
			HINT = 'Alerts identify rows by their primary key; add one with ALTER TABLE ... ADD PRIMARY KEY.';
	END IF;
	IF EXISTS (SELECT FROM vigil.watches w WHERE w.relation = watch.relation) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'duplicate_object',
			MESSAGE = format('table %s is already watched', relation),
			HINT = 'Call vigil.unwatch() first to watch it with other columns.';
	END IF;
	IF alert_threshold IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'alert_threshold must not be NULL';
	END IF;
	IF NOT (alert_threshold > 0 AND alert_threshold <= 1) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('alert_threshold must be in (0, 1], not %s', alert_threshold);
	END IF;
	IF (lat_column IS NULL) <> (lon_column IS NULL) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'lat_column and lon_column must be given together';
	END IF;

	key_att := vigil.watched_column(relation, key_column, 'key', NULL);
	amount_att := vigil.watched_column(relation, amount_column, 'amount', numbers);
	time_att := vigil.watched_column(relation, time_column, 'time',
									 '{timestamptz,timestamp,int2,int4,int8}');
	lat_att := vigil.watched_column(relation, lat_column, 'latitude', numbers);
	lon_att := vigil.watched_column(relation, lon_column, 'longitude', numbers);
	merchant_att := vigil.watched_column(relation, merchant_column, 'merchant', NULL);
	category_att := vigil.watched_column(relation, category_column, 'category', NULL);

	INSERT INTO vigil.watches (relation, key_attnum, amount_attnum, time_attnum, lat_attnum,
							   lon_attnum, merchant_attnum, category_attnum, alert_threshold)
	VALUES (relation, key_att, amount_att, time_att, lat_att, lon_att, merchant_att,
			category_att, alert_threshold)
	RETURNING id INTO new_id;

	-- amount_limit is a static ceiling with no sensible default: off.
	INSERT INTO vigil.rules (watch_id, name, kind, params, weight, enabled)
	SELECT new_id, d.kind, d.kind, d.params, d.weight, d.kind <> 'amount_limit'
	FROM vigil.rule_defaults() d;

	EXECUTE format('CREATE TRIGGER vigil_detect AFTER INSERT ON %s '
				   'REFERENCING NEW TABLE AS vigil_new_rows '
				   'FOR EACH STATEMENT EXECUTE FUNCTION vigil.detect(%s)',
				   relation, new_id);
	RETURN new_id;
END
$$;

COMMENT ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8) IS
	'start detection on a table: returns the watch id';

-- Forget a watch: its trigger, rules and profiles.  Alerts stay.
CREATE FUNCTION vigil.forget_watch(id int, drop_trigger boolean)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	rel regclass;
BEGIN
	DELETE FROM vigil.watches w WHERE w.id = forget_watch.id RETURNING w.relation INTO rel;
	DELETE FROM vigil.profiles p WHERE p.watch_id = forget_watch.id;
	-- rel is NULL when a concurrent unwatch() forgot the watch first, and
	-- names no table when the table went without a DROP the event trigger
	-- saw (the trigger went with it).  A regclass prints as a quoted,
	-- schema-qualified name.
	IF drop_trigger AND EXISTS (SELECT FROM pg_class c WHERE c.oid = rel) THEN
		EXECUTE format('DROP TRIGGER IF EXISTS vigil_detect ON %s', rel);
	END IF;
END
$$;

CREATE FUNCTION vigil.unwatch(relation regclass)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	id int;
BEGIN
	IF relation IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation must not be NULL';
	END IF;
	SELECT w.id INTO id FROM vigil.watches w WHERE w.relation = unwatch.relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', relation);
	END IF;
	PERFORM vigil.forget_watch(id, true);
END
$$;

COMMENT ON FUNCTION vigil.unwatch(regclass) IS
	'stop detection on a table: removes its trigger, rules and profiles; keeps its alerts';

-- When a watched table is dropped, forget its watch; when a watched column
-- is dropped, forget the watch if detection needs the column (key, amount,
-- time), or stop using it if it is optional.  It runs for every DROP in the
-- database, by whoever drops: SECURITY DEFINER, so that roles with no
-- privilege on vigil's tables can still drop their tables and columns.  It
-- only acts on the objects the DROP removed.
CREATE FUNCTION vigil.on_drop() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	obj record;
	w vigil.watches;
BEGIN
	FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
			   WHERE object_type IN ('table', 'table column') LOOP
		FOR w IN SELECT * FROM vigil.watches WHERE relation = obj.objid LOOP
			IF obj.object_type = 'table' THEN
				PERFORM vigil.forget_watch(w.id, false);
			ELSIF obj.objsubid IN (w.key_attnum, w.amount_attnum, w.time_attnum) THEN
				RAISE NOTICE 'vigil: a column detection needs was dropped; % is no longer watched',
					w.relation;
				PERFORM vigil.forget_watch(w.id, true);
			ELSE
				UPDATE vigil.watches SET
					lat_attnum = NULLIF(lat_attnum, obj.objsubid),
					lon_attnum = NULLIF(lon_attnum, obj.objsubid),
					merchant_attnum = NULLIF(merchant_attnum, obj.objsubid),
					category_attnum = NULLIF(category_attnum, obj.objsubid)
				WHERE id = w.id;
				UPDATE vigil.watches SET lat_attnum = NULL, lon_attnum = NULL
				WHERE id = w.id AND (lat_attnum IS NULL OR lon_attnum IS NULL);
			END IF;
		END LOOP;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION vigil.on_drop() FROM PUBLIC;

CREATE EVENT TRIGGER vigil_on_drop ON sql_drop EXECUTE FUNCTION vigil.on_drop();

CREATE FUNCTION vigil.replay(relation regclass, since timestamptz DEFAULT NULL,
							 until timestamptz DEFAULT NULL)
	RETURNS TABLE (row_ref jsonb, key text, event_time timestamptz, amount float8,
				   score float8, fired text[], explanation jsonb)
	AS 'MODULE_PATHNAME', 'vigil_replay'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.replay(regclass, timestamptz, timestamptz) IS
	'backtest: the current rules over the table''s rows in [since, until), from empty profiles; changes nothing';

CREATE FUNCTION vigil.rebuild(relation regclass,
							  since timestamptz DEFAULT pg_catalog.now() - interval '30 days')
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_rebuild'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.rebuild(regclass, timestamptz) IS
	'recompute the live profiles from the rows since then (blocks inserts until commit); returns the number of profiles';

-- Changing what is watched is for the extension's owner (superusers).
REVOKE ALL ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8),
	vigil.unwatch(regclass), vigil.rebuild(regclass, timestamptz),
	vigil.forget_watch(int, boolean), vigil.watched_column(regclass, name, text, regtype[])
	FROM PUBLIC;

-- Delivery of alerts to Amazon SNS, by the notifier background worker.

CREATE FUNCTION vigil.notifier_running() RETURNS boolean
	AS 'MODULE_PATHNAME', 'vigil_notifier_running'
	LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION vigil.notifier_running() IS
	'whether the notifier worker is running (it needs vigil in shared_preload_libraries)';

CREATE FUNCTION vigil.wake_notifier() RETURNS void
	AS 'MODULE_PATHNAME', 'vigil_notifier_wake'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vigil.wake_notifier() IS
	'have the notifier look at the queue when this transaction commits';

-- Dead alerts (or the given ones, if dead) go back to the queue, due now,
-- with their attempts counted from zero.
CREATE FUNCTION vigil.requeue(ids bigint[] DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	UPDATE vigil.alerts a
	SET status = 'pending', attempts = 0, next_attempt_at = now()
	WHERE a.status = 'dead' AND (requeue.ids IS NULL OR a.id = ANY (requeue.ids));
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM vigil.wake_notifier();
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION vigil.requeue(bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION vigil.requeue(bigint[]) IS
	'retry dead alerts (all, or those with the given ids); returns how many were requeued';

CREATE VIEW vigil.delivery_status AS
SELECT s.status,
	   count(a.id) AS alerts,
	   now() - min(a.created_at) AS oldest_age,
	   min(a.next_attempt_at) FILTER (WHERE a.status = 'pending') AS next_attempt_at,
	   max(a.last_attempt_at) AS last_attempt_at,
	   (SELECT e.last_error FROM vigil.alerts e
		WHERE e.status = s.status AND e.last_error IS NOT NULL
		ORDER BY e.last_attempt_at DESC NULLS LAST, e.id DESC LIMIT 1) AS last_error
FROM (VALUES (1, 'pending'), (2, 'sending'), (3, 'sent'), (4, 'dead')) AS s(ord, status)
	 LEFT JOIN vigil.alerts a ON a.status = s.status
GROUP BY s.ord, s.status
ORDER BY s.ord;

COMMENT ON VIEW vigil.delivery_status IS
	'alerts by delivery status: how many, the oldest one''s age, the next retry, the last error';
-- Operations: maintenance functions, their pg_cron jobs, the reporting views
-- and the read-only role vigil_reader.
--
-- pg_cron is optional: nothing here needs it to load.  Its functions are
-- called by dynamic SQL, schema-qualified, only when a job is (un)scheduled.

-- Alert retention: delete sent and dead alerts whose latest event (created,
-- last attempt, delivered) is older than older_than.  Pending and sending
-- alerts are never purged.  Returns how many were deleted.
CREATE FUNCTION vigil.purge_alerts(older_than interval DEFAULT '90 days')
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	IF older_than IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'older_than must not be NULL';
	END IF;
	IF older_than < interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('older_than must not be negative, not %s', older_than);
	END IF;
	DELETE FROM vigil.alerts a
	WHERE a.status IN ('sent', 'dead')
	  AND greatest(a.created_at, a.last_attempt_at, a.delivered_at) < now() - older_than;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.purge_alerts(interval) IS
	'delete sent and dead alerts older than that (by their latest event); returns how many';

-- The daily retrain: vigil.rebuild() of every watch, in watch order, from the
-- rows of the last `history`, in one transaction.
CREATE FUNCTION vigil.rebuild_all(history interval DEFAULT '30 days')
	RETURNS TABLE (relation regclass, profiles bigint)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w record;
BEGIN
	IF history IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'history must not be NULL';
	END IF;
	IF history <= interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('history must be a positive interval, not %s', history);
	END IF;
	-- A watch whose table is gone without a DROP the event trigger saw has
	-- nothing to rebuild from: skip it rather than fail the whole job.
	FOR w IN SELECT ws.relation FROM vigil.watches ws
			 WHERE EXISTS (SELECT FROM pg_class c WHERE c.oid = ws.relation)
			 ORDER BY ws.id LOOP
		relation := w.relation;
		profiles := vigil.rebuild(w.relation, now() - history);
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION vigil.rebuild_all(interval) IS
	'vigil.rebuild() of every watched table from the rows of the last `history`; one row per table';

-- The pg_cron jobs of this database: names, schedules and commands.  The
-- commands do nothing when vigil is not installed (after DROP EXTENSION).
-- Intervals are written in the postgres style, which reads back the same
-- whatever the job's session IntervalStyle.
CREATE FUNCTION vigil.maintenance_jobs(rebuild_schedule text DEFAULT '0 6 * * *',
									   purge_schedule text DEFAULT '30 5 * * *',
									   history interval DEFAULT '30 days',
									   keep interval DEFAULT '90 days')
	RETURNS TABLE (job_name text, schedule text, command text)
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	SET IntervalStyle = 'postgres'
	AS $$
BEGIN
	IF rebuild_schedule IS NULL OR purge_schedule IS NULL OR history IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'rebuild_schedule, purge_schedule, history and keep must not be NULL';
	END IF;
	IF history <= interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('history must be a positive interval, not %s', history);
	END IF;
	IF keep < interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('keep must not be negative, not %s', keep);
	END IF;
	-- cron.job.jobname is a name: truncate as it would.
	job_name := ('vigil-rebuild-' || current_database())::name;
	schedule := rebuild_schedule;
	command := format('DO $vigil$BEGIN IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN '
					  'PERFORM FROM vigil.rebuild_all(%L); END IF; END$vigil$',
					  'vigil.rebuild_all(interval)', history);
	RETURN NEXT;
	job_name := ('vigil-purge-' || current_database())::name;
	schedule := purge_schedule;
	command := format('DO $vigil$BEGIN IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN '
					  'PERFORM vigil.purge_alerts(%L); END IF; END$vigil$',
					  'vigil.purge_alerts(interval)', keep);
	RETURN NEXT;
END
$$;

COMMENT ON FUNCTION vigil.maintenance_jobs(text, text, interval, interval) IS
	'the pg_cron jobs vigil.schedule_maintenance() registers for this database: name, schedule, command';

-- Raise a clear error unless pg_cron 1.4 or later can be called from this
-- database, saying how to make it so.
CREATE FUNCTION vigil.require_pg_cron()
	RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	db text := current_database();
	cron_db text;
	version text;
	hidden boolean := false;
	msg text := format('pg_cron is not available in database "%s"', current_database());
	recipe text := format('Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries '
						  'to include pg_cron and cron.database_name = ''%s'' in postgresql.conf, '
						  'restart the server, then run CREATE EXTENSION pg_cron in this database.',
						  current_database());
BEGIN
	IF to_regprocedure('cron.schedule_in_database(text,text,text,text,text,boolean)') IS NOT NULL
	   AND to_regprocedure('cron.unschedule(bigint)') IS NOT NULL
	   AND to_regclass('cron.job') IS NOT NULL THEN
		RETURN;
	END IF;
	BEGIN
		cron_db := current_setting('cron.database_name', true);
	EXCEPTION WHEN insufficient_privilege THEN
		cron_db := NULL;		-- pg_cron shows it to superusers only
		hidden := true;
	END;
	SELECT e.extversion INTO version FROM pg_extension e WHERE e.extname = 'pg_cron';
	IF version IS NOT NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = msg,
			DETAIL = format('pg_cron %s is installed; vigil needs pg_cron 1.4 or later '
							'(cron.schedule_in_database).', version),
			HINT = 'Run ALTER EXTENSION pg_cron UPDATE.';
	ELSIF hidden THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = msg,
			DETAIL = 'The pg_cron extension is not installed in this database.',
			HINT = recipe;
	ELSIF cron_db IS NULL OR cron_db = '' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = msg,
			DETAIL = 'The pg_cron library is not loaded (it must be in shared_preload_libraries).',
			HINT = recipe;
	ELSIF cron_db = db THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = msg,
			DETAIL = 'pg_cron is loaded, but the extension has not been created in this database.',
			HINT = 'Run CREATE EXTENSION pg_cron in this database.';
	ELSE
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = msg,
			DETAIL = format('pg_cron keeps its jobs in database "%s" (cron.database_name) and can '
							'only be called from there.', cron_db),
			HINT = format('Set cron.database_name = ''%s'' in postgresql.conf, restart the server and '
						  'run CREATE EXTENSION pg_cron in this database; or, connected to "%s", '
						  'schedule the jobs listed by vigil.maintenance_jobs() with '
						  'cron.schedule_in_database(job_name, schedule, command, ''%s'').',
						  db, cron_db, db);
	END IF;
END
$$;

COMMENT ON FUNCTION vigil.require_pg_cron() IS
	'an error saying how to enable pg_cron, unless it can be used from this database';

-- Register (or update in place) this database's two maintenance jobs with
-- pg_cron: the daily retrain and alert retention.  The jobs run as the
-- caller.  Same-named jobs another role scheduled are replaced, so the
-- database never has more than one pair.
CREATE FUNCTION vigil.schedule_maintenance(rebuild_schedule text DEFAULT '0 6 * * *',
										   purge_schedule text DEFAULT '30 5 * * *',
										   history interval DEFAULT '30 days',
										   keep interval DEFAULT '90 days')
	RETURNS TABLE (jobid bigint, job_name text, schedule text, command text)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	j record;
	other bigint;
	param text;
	err text;
BEGIN
	PERFORM vigil.require_pg_cron();
	FOR j IN SELECT * FROM vigil.maintenance_jobs(rebuild_schedule, purge_schedule, history, keep) LOOP
		param := CASE WHEN j.job_name LIKE 'vigil-rebuild-%' THEN 'rebuild_schedule'
					  ELSE 'purge_schedule' END;
		FOR other IN EXECUTE 'SELECT c.jobid FROM cron.job c WHERE c.jobname = $1 AND c.username <> $2'
			USING j.job_name, current_user LOOP
			EXECUTE 'SELECT cron.unschedule($1)' USING other;
		END LOOP;
		BEGIN
			EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
				INTO jobid USING j.job_name, j.schedule, j.command, current_database();
		EXCEPTION WHEN invalid_parameter_value THEN
			GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
			RAISE EXCEPTION USING
				ERRCODE = 'invalid_parameter_value',
				MESSAGE = format('invalid %s "%s"', param, j.schedule),
				DETAIL = format('pg_cron says: %s', err),
				HINT = 'A pg_cron 1.4 schedule is five cron fields, minute hour day-of-month month '
					   'day-of-week, in GMT (''0 6 * * *'' is every day at 06:00 GMT), or @hourly, @daily.';
		END;
		job_name := j.job_name;
		schedule := j.schedule;
		command := j.command;
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION vigil.schedule_maintenance(text, text, interval, interval) IS
	'register or update this database''s pg_cron jobs: vigil.rebuild_all(history) and vigil.purge_alerts(keep)';

-- Remove this database's maintenance jobs; returns how many were removed.
CREATE FUNCTION vigil.unschedule_maintenance()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	id bigint;
	n bigint := 0;
BEGIN
	PERFORM vigil.require_pg_cron();
	FOR id IN EXECUTE 'SELECT c.jobid FROM cron.job c WHERE c.jobname = ANY ($1) ORDER BY c.jobid'
		USING ARRAY(SELECT m.job_name FROM vigil.maintenance_jobs() m) LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING id;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.unschedule_maintenance() IS
	'remove this database''s pg_cron maintenance jobs; returns how many';

-- Maintenance is for the extension's owner (superusers).
REVOKE ALL ON FUNCTION vigil.purge_alerts(interval), vigil.rebuild_all(interval),
	vigil.require_pg_cron(), vigil.schedule_maintenance(text, text, interval, interval),
	vigil.unschedule_maintenance()
	FROM PUBLIC;

-- Reporting views, for BI tools: plain column types only (no jsonb, arrays,
-- intervals or regclass), time buckets in UTC.  They run with their owner's
-- privileges, so vigil_reader reads them without access to the tables.

-- A watched table's schema-qualified name; the OID as text once it is gone.
CREATE FUNCTION vigil.table_name(relation regclass)
	RETURNS text
	LANGUAGE sql STABLE STRICT PARALLEL SAFE
	AS $$
SELECT coalesce((SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
				 FROM pg_catalog.pg_class c
					  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
				 WHERE c.oid OPERATOR(pg_catalog.=) relation),
				relation::pg_catalog.oid::pg_catalog.text)
$$;

COMMENT ON FUNCTION vigil.table_name(regclass) IS
	'schema-qualified name of a table, or its OID as text when it no longer exists';

CREATE VIEW vigil.alert_feed AS
SELECT a.id AS alert_id,
	   a.watch_id,
	   vigil.table_name(a.relation) AS table_name,
	   a.row_ref::text AS row_ref,
	   a.key,
	   a.amount,
	   a.event_time,
	   a.score,
	   array_to_string(a.fired, ', ') AS rules,
	   (SELECT string_agg(e.x ->> 'why', '; ' ORDER BY e.ord)
		FROM jsonb_array_elements(a.explanation) WITH ORDINALITY e(x, ord)) AS reasons,
	   a.status,
	   a.attempts,
	   a.created_at,
	   CASE WHEN a.status = 'pending' THEN a.next_attempt_at END AS next_attempt_at,
	   a.last_attempt_at,
	   a.delivered_at,
	   (extract(epoch FROM a.delivered_at - a.created_at) * 1000)::float8 AS delivery_ms,
	   a.message_id,
	   a.last_error
FROM vigil.alerts a;

COMMENT ON VIEW vigil.alert_feed IS
	'one row per alert: table, row, key, amount, event time, score, rules, reasons, delivery status and times';

CREATE VIEW vigil.alerts_by_hour AS
SELECT h.hour, vigil.table_name(h.relation) AS table_name, h.alerts, h.keys, h.amount,
	   h.avg_score, h.max_score, h.sent, h.dead
FROM (SELECT date_trunc('hour', a.event_time, 'UTC') AS hour,
			 a.relation,
			 count(*) AS alerts,
			 count(DISTINCT a.key) AS keys,
			 sum(a.amount) AS amount,
			 avg(a.score) AS avg_score,
			 max(a.score) AS max_score,
			 count(*) FILTER (WHERE a.status = 'sent') AS sent,
			 count(*) FILTER (WHERE a.status = 'dead') AS dead
	  FROM vigil.alerts a
	  GROUP BY 1, 2) h;

COMMENT ON VIEW vigil.alerts_by_hour IS
	'alerts per hour of event time (UTC) and table: count, keys, amount, scores, how many sent and dead';

CREATE VIEW vigil.rule_hits_daily AS
SELECT d.day, vigil.table_name(d.relation) AS table_name, d.rule, d.hits, d.sole_hits, d.keys,
	   d.amount, d.avg_score
FROM (SELECT (a.event_time AT TIME ZONE 'UTC')::date AS day,
			 a.relation,
			 r.rule,
			 count(*) AS hits,
			 count(*) FILTER (WHERE cardinality(a.fired) = 1) AS sole_hits,
			 count(DISTINCT a.key) AS keys,
			 sum(a.amount) AS amount,
			 avg(a.score) AS avg_score
	  FROM vigil.alerts a, unnest(a.fired) r(rule)
	  GROUP BY 1, 2, 3) d;

COMMENT ON VIEW vigil.rule_hits_daily IS
	'per day of event time (UTC), table and rule: alerts the rule fired in, alone, keys, amount, mean score';

CREATE VIEW vigil.key_risk AS
SELECT s.watch_id,
	   vigil.table_name(s.relation) AS table_name,
	   s.key,
	   s.n AS transactions,
	   s.mean,
	   s.stddev,
	   s.recent_mean,
	   s.last_seen AS last_transaction_at,
	   coalesce(a.alerts_30d, 0) AS alerts_30d,
	   coalesce(a.alerts_total, 0) AS alerts_total,
	   a.max_score_30d,
	   a.last_alert_at
FROM vigil.profile_summary s
	 LEFT JOIN (SELECT al.watch_id, al.key,
					   count(*) FILTER (WHERE al.event_time >= now() - interval '30 days') AS alerts_30d,
					   count(*) AS alerts_total,
					   max(al.score) FILTER (WHERE al.event_time >= now() - interval '30 days') AS max_score_30d,
					   max(al.event_time) AS last_alert_at
				FROM vigil.alerts al
				GROUP BY al.watch_id, al.key) a
	 ON a.watch_id = s.watch_id AND a.key = s.key;

COMMENT ON VIEW vigil.key_risk IS
	'per watched key: transactions, mean, stddev, recent mean, alerts in the last 30 days (event time), last alert';

CREATE VIEW vigil.delivery_health AS
SELECT count(*) FILTER (WHERE a.status = 'pending') AS pending,
	   count(*) FILTER (WHERE a.status = 'sending') AS sending,
	   count(*) FILTER (WHERE a.status = 'sent') AS sent,
	   count(*) FILTER (WHERE a.status = 'dead') AS dead,
	   extract(epoch FROM now() - min(a.created_at) FILTER (WHERE a.status IN ('pending', 'sending')))::float8
		   AS oldest_queued_seconds,
	   count(*) FILTER (WHERE a.status = 'sent' AND a.delivered_at >= now() - interval '1 hour')
		   AS sent_last_hour,
	   count(*) FILTER (WHERE a.status = 'dead' AND a.last_attempt_at >= now() - interval '1 hour')
		   AS dead_last_hour,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.delivered_at - a.created_at)::float8 * 1000)
		   FILTER (WHERE a.status = 'sent' AND a.delivered_at >= now() - interval '1 hour') AS latency_p50_ms,
	   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM a.delivered_at - a.created_at)::float8 * 1000)
		   FILTER (WHERE a.status = 'sent' AND a.delivered_at >= now() - interval '1 hour') AS latency_p95_ms,
	   max(a.delivered_at) AS last_delivered_at,
	   (SELECT e.last_error FROM vigil.alerts e WHERE e.last_error IS NOT NULL
		ORDER BY e.last_attempt_at DESC NULLS LAST, e.id DESC LIMIT 1) AS last_error,
	   (SELECT e.last_attempt_at FROM vigil.alerts e WHERE e.last_error IS NOT NULL
		ORDER BY e.last_attempt_at DESC NULLS LAST, e.id DESC LIMIT 1) AS last_error_at,
	   vigil.notifier_running() AS notifier_running
FROM vigil.alerts a;

COMMENT ON VIEW vigil.delivery_health IS
	'one row: alerts by delivery status, age of the oldest queued, the last hour''s deliveries and latency, the last error, the worker';

-- vigil_reader: SELECT on the reporting views, nothing else.  Roles belong to
-- the cluster, not the database: it may exist already (another database, an
-- earlier CREATE EXTENSION), and DROP EXTENSION leaves it.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vigil_reader') THEN
		CREATE ROLE vigil_reader NOLOGIN;
		COMMENT ON ROLE vigil_reader IS 'pg_vigil: reads the reporting views of schema vigil';
	END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
	NULL;	-- created meanwhile by a CREATE EXTENSION in another database
END
$$;

GRANT USAGE ON SCHEMA vigil TO vigil_reader;
GRANT SELECT ON vigil.alert_feed, vigil.alerts_by_hour, vigil.rule_hits_daily, vigil.key_risk,
	vigil.delivery_health TO vigil_reader;

-- The AnomalyCount metric: alerts per watch per minute, published to
-- Amazon CloudWatch by the notifier when vigil.cloudwatch_namespace is set.

-- How far publishing has come, in (minute, watch) order: every minute
-- before minute is published, and of minute itself the watches with an id
-- up to watch_id.  The notifier moves it on only after CloudWatch took the
-- data, so a restart neither publishes a minute twice nor skips one.  One
-- row, made by the notifier when it first publishes.  Not dumped: it is
-- the state of this server's notifier, and a restored database starts
-- afresh at the current minute.
CREATE TABLE vigil.metric_cursor (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	minute timestamptz NOT NULL,
	watch_id int NOT NULL DEFAULT 0,
	-- the last request's failure, NULL once one succeeds
	last_error text,
	last_attempt_at timestamptz
);

COMMENT ON TABLE vigil.metric_cursor IS
	'how far the notifier has published AnomalyCount to CloudWatch, and its last error';

-- Each minute's counts read the alerts created in that minute.
CREATE INDEX alerts_created_at ON vigil.alerts (created_at);
-- The role vigil_admin: runs vigil without being a superuser.
--
-- Changing what is watched, the rules, the alert queue and the maintenance
-- jobs is for superusers and members of vigil_admin; nobody else has any
-- privilege on vigil's tables or its administrative functions (see the
-- REVOKEs beside each function).  The functions run as their caller
-- (SECURITY INVOKER), so PostgreSQL's own checks still apply to the watched
-- table itself: vigil.watch() creates a trigger on it (the TRIGGER
-- privilege), vigil.unwatch() drops one (ownership), vigil.rebuild() reads
-- it (SELECT).  Roles belong to the cluster, not the database: vigil_admin
-- may exist already (another database, an earlier CREATE EXTENSION), and
-- DROP EXTENSION leaves it, as it leaves vigil_reader.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'vigil_admin') THEN
		CREATE ROLE vigil_admin NOLOGIN;
		COMMENT ON ROLE vigil_admin IS 'pg_vigil: watches tables, changes rules, requeues alerts, runs maintenance';
	END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
	NULL;	-- created meanwhile by a CREATE EXTENSION in another database
END
$$;

GRANT USAGE ON SCHEMA vigil TO vigil_admin;

-- Watching and unwatching.  vigil.watch() attaches vigil.detect() to the
-- table as the caller, which needs EXECUTE on it; detect() refuses to work
-- for any table but its watch's own, so the grant lets nobody write another
-- watch's profiles.
GRANT EXECUTE ON FUNCTION
	vigil.watch(regclass, name, name, name, name, name, name, name, float8),
	vigil.watched_column(regclass, name, text, regtype[]),
	vigil.unwatch(regclass),
	vigil.forget_watch(int, boolean),
	vigil.detect(),
	vigil.rebuild(regclass, timestamptz)
	TO vigil_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON vigil.watches, vigil.rules TO vigil_admin;
GRANT USAGE ON SEQUENCE vigil.watches_id_seq TO vigil_admin;

-- Profiles are written by detection and vigil.rebuild() only; an admin reads
-- them and forgets a watch's.
GRANT SELECT, DELETE ON vigil.profiles, vigil.skipped TO vigil_admin;

-- The alert queue: read, requeue (UPDATE), purge (DELETE); never forge one.
GRANT SELECT, UPDATE, DELETE ON vigil.alerts TO vigil_admin;
GRANT EXECUTE ON FUNCTION vigil.requeue(bigint[]) TO vigil_admin;

-- Maintenance and its pg_cron jobs.
GRANT EXECUTE ON FUNCTION
	vigil.purge_alerts(interval),
	vigil.rebuild_all(interval),
	vigil.require_pg_cron(),
	vigil.schedule_maintenance(text, text, interval, interval),
	vigil.unschedule_maintenance()
	TO vigil_admin;

-- Everything else vigil shows: the views and the metric cursor.
GRANT SELECT ON vigil.watch_columns, vigil.profile_summary, vigil.delivery_status,
	vigil.alert_feed, vigil.alerts_by_hour, vigil.rule_hits_daily, vigil.key_risk,
	vigil.delivery_health, vigil.metric_cursor
	TO vigil_admin;
-- Checking the live profiles against the table's rows: vigil.verify.

-- Reads the table as its caller (SELECT on it, every row visible) and the
-- stored profiles too (SELECT on vigil.profiles); writes nothing, and reads
-- everything with the calling statement's snapshot.
CREATE FUNCTION vigil.verify(relation regclass, since timestamptz DEFAULT NULL)
	RETURNS TABLE (key text, status text, differences text[], stored jsonb, rebuilt jsonb)
	AS 'MODULE_PATHNAME', 'vigil_verify'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION vigil.verify(regclass, timestamptz) IS
	'each key whose stored profile differs from the one rebuilt from the table''s rows since then (NULL: all): differs, no_profile or no_rows; changes nothing';
