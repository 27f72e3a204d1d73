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

-- Detection on rows applied by logical replication (replica.c): the
-- apply worker fires only row triggers enabled REPLICA.  vigil.watch()
-- gives each table a deferred constraint trigger whose WHEN keeps the row
-- for its transaction and queues the trigger for the first one only, so
-- that vigil.detect_replicated scores the transaction's rows in one batch at
-- commit.  Only superusers run as replica (the worker runs as the
-- subscription's owner), so neither is granted to anyone.
CREATE FUNCTION vigil.collect_replicated(watch_id int, new record) RETURNS boolean
	AS 'MODULE_PATHNAME', 'vigil_collect_replicated'
	LANGUAGE C VOLATILE STRICT;

REVOKE ALL ON FUNCTION vigil.collect_replicated(int, record) FROM PUBLIC;

CREATE FUNCTION vigil.detect_replicated() RETURNS trigger
	AS 'MODULE_PATHNAME', 'vigil_detect_replicated'
	LANGUAGE C;

REVOKE ALL ON FUNCTION vigil.detect_replicated() FROM PUBLIC;

-- Called back by the detection trigger's own statement to compute a key's
-- new profile while its row is locked; refuses to run anywhere else.
CREATE FUNCTION vigil.fold_profile(key text, profile vigil.profile) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_fold_profile'
	LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION vigil.fold_profile(text, vigil.profile) FROM PUBLIC;

-- The types detection reads a column of a role in as: numbers for the amount
-- and the coordinates, times or epoch seconds for the time; any type (NULL)
-- for the key, merchant and category, whose text is used.
CREATE FUNCTION vigil.watched_types(role text)
	RETURNS regtype[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT CASE
		   WHEN role IN ('amount', 'latitude', 'longitude')
		   THEN '{int2,int4,int8,float4,float8,numeric}'::regtype[]
		   WHEN role = 'time' THEN '{timestamptz,timestamp,int2,int4,int8}'::regtype[]
		   WHEN role = 'card_present' THEN '{boolean}'::regtype[]
	   END
$$;

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

-- Give a watched table the trigger that scores rows applied by logical
-- replication (see vigil.detect_replicated), enabled in the replica role
-- only, as the apply worker runs: in any other role vigil_detect fires.
CREATE FUNCTION vigil.add_replica_trigger(relation regclass, watch_id int)
	RETURNS void
	AS 'MODULE_PATHNAME', 'vigil_add_replica_trigger'
	LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION vigil.watch(relation regclass, key_column name, amount_column name,
							time_column name, lat_column name DEFAULT NULL,
							lon_column name DEFAULT NULL, merchant_column name DEFAULT NULL,
							category_column name DEFAULT NULL,
							alert_threshold float8 DEFAULT 0.5,
							card_present_column name DEFAULT NULL,
							time_zone text DEFAULT 'UTC')
	RETURNS int
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	kind "char";
	new_id int;
	key_att int2;
	amount_att int2;
	time_att int2;
	lat_att int2;
	lon_att int2;
	merchant_att int2;
	category_att int2;
	card_present_att int2;
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
	IF time_zone IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'time_zone must not be NULL';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_timezone_names z WHERE z.name = watch.time_zone) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('time zone "%s" is not known', time_zone),
			HINT = 'Give a name of pg_timezone_names, such as America/New_York (abbreviations and offsets change meaning with daylight saving time).';
	END IF;
	IF card_present_column IS NOT NULL AND lat_column IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'card_present_column needs lat_column and lon_column',
			HINT = 'It says which rows'' coordinates are where the card was.';
	END IF;

	key_att := vigil.watched_column(relation, key_column, 'key', NULL);
	amount_att := vigil.watched_column(relation, amount_column, 'amount', vigil.watched_types('amount'));
	time_att := vigil.watched_column(relation, time_column, 'time', vigil.watched_types('time'));
	lat_att := vigil.watched_column(relation, lat_column, 'latitude', vigil.watched_types('latitude'));
	lon_att := vigil.watched_column(relation, lon_column, 'longitude', vigil.watched_types('longitude'));
	merchant_att := vigil.watched_column(relation, merchant_column, 'merchant', NULL);
	category_att := vigil.watched_column(relation, category_column, 'category', NULL);
	card_present_att := vigil.watched_column(relation, card_present_column, 'card_present',
											 vigil.watched_types('card_present'));

	INSERT INTO vigil.watches (relation, key_attnum, amount_attnum, time_attnum, lat_attnum,
							   lon_attnum, merchant_attnum, category_attnum, alert_threshold,
							   card_present_attnum, time_zone)
	VALUES (relation, key_att, amount_att, time_att, lat_att, lon_att, merchant_att,
			category_att, alert_threshold, card_present_att, watch.time_zone)
	RETURNING id INTO new_id;

	-- amount_limit is a static ceiling with no sensible default: off.
	-- impossible_travel is off unless card_present_column says which rows'
	-- coordinates are the card's: an online merchant's are not, and
	-- merchants minutes apart hundreds of km apart make it fire on honest
	-- cardholders.
	INSERT INTO vigil.rules (watch_id, name, kind, params, weight, enabled)
	SELECT new_id, d.kind, d.kind, d.params, d.weight,
		   d.kind <> 'amount_limit' AND (d.kind <> 'impossible_travel' OR card_present_att IS NOT NULL)
	FROM vigil.rule_defaults() d;

	EXECUTE format('CREATE TRIGGER vigil_detect AFTER INSERT ON %s '
				   'REFERENCING NEW TABLE AS vigil_new_rows '
				   'FOR EACH STATEMENT EXECUTE FUNCTION vigil.detect(%s)',
				   relation, new_id);
	PERFORM vigil.add_replica_trigger(relation, new_id);
	RETURN new_id;
END
$$;

COMMENT ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text) IS
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
	-- The table's lock first, as an insert takes it before it writes
	-- profiles: dropping the trigger waits for inserts in progress, and
	-- only then are profiles deleted (deleting them first, then waiting for
	-- the table, deadlocked with an insert that went on to write them).
	-- rel is NULL when a concurrent unwatch() forgot the watch first, and
	-- names no table when the table went without a DROP the event trigger
	-- saw (the trigger went with it).  A regclass prints as a quoted,
	-- schema-qualified name.
	SELECT w.relation INTO rel FROM vigil.watches w WHERE w.id = forget_watch.id;
	IF drop_trigger AND EXISTS (SELECT FROM pg_class c WHERE c.oid = rel) THEN
		EXECUTE format('DROP TRIGGER IF EXISTS vigil_detect ON %s', rel);
		EXECUTE format('DROP TRIGGER IF EXISTS vigil_detect_replicated ON %s', rel);
	END IF;
	DELETE FROM vigil.watches w WHERE w.id = forget_watch.id;
	DELETE FROM vigil.profiles p WHERE p.watch_id = forget_watch.id;
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
-- time), or stop using it if it is optional (the label column too).  It runs for every DROP in the
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
				-- a location is both coordinates or neither
				UPDATE vigil.watches SET
					lat_attnum = CASE WHEN obj.objsubid IN (lat_attnum, lon_attnum) THEN NULL
									  ELSE lat_attnum END,
					lon_attnum = CASE WHEN obj.objsubid IN (lat_attnum, lon_attnum) THEN NULL
									  ELSE lon_attnum END,
					merchant_attnum = NULLIF(merchant_attnum, obj.objsubid),
					category_attnum = NULLIF(category_attnum, obj.objsubid),
					label_attnum = NULLIF(label_attnum, obj.objsubid),
					-- without a location, card presence means nothing
					card_present_attnum = CASE WHEN obj.objsubid IN (lat_attnum, lon_attnum,
																	 card_present_attnum)
											   THEN NULL ELSE card_present_attnum END
				WHERE id = w.id;
			END IF;
		END LOOP;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION vigil.on_drop() FROM PUBLIC;

CREATE EVENT TRIGGER vigil_on_drop ON sql_drop EXECUTE FUNCTION vigil.on_drop();

-- When a watched table's column changes type, it must keep a type detection
-- reads for its role (an int4 amount may become numeric; text is refused
-- with 42804, and the ALTER TABLE with it): otherwise detection would skip
-- every row and rebuild could not read the table.  Like on_drop, it runs for
-- whoever alters the table, as the extension's owner.
CREATE FUNCTION vigil.on_alter() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
	col record;
	msg text;
	detail text;
BEGIN
	FOR w IN SELECT * FROM vigil.watches
			 WHERE relation IN (SELECT c.objid FROM pg_event_trigger_ddl_commands() c) LOOP
		FOR col IN SELECT v.role, a.attname
				   FROM (VALUES ('amount', w.amount_attnum), ('time', w.time_attnum),
								('latitude', w.lat_attnum), ('longitude', w.lon_attnum),
								('card_present', w.card_present_attnum)) v(role, attnum)
						JOIN pg_attribute a ON a.attrelid = w.relation AND a.attnum = v.attnum LOOP
			BEGIN
				PERFORM vigil.watched_column(w.relation, col.attname, col.role,
											 vigil.watched_types(col.role));
			EXCEPTION WHEN datatype_mismatch THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
				RAISE EXCEPTION USING
					ERRCODE = 'datatype_mismatch', MESSAGE = msg, DETAIL = detail,
					HINT = format('Keep a type detection reads, or stop watching the table first: '
								  'SELECT vigil.unwatch(%L);', w.relation);
			END;
		END LOOP;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION vigil.on_alter() FROM PUBLIC;

CREATE EVENT TRIGGER vigil_on_alter ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION vigil.on_alter();

-- The profiles rows are scored against are built from every earlier row of
-- the table, as detection's were, whatever since says; from_empty starts
-- them empty at since instead (what 0.1's replay did).  The watch's active
-- model scores through its rule of kind model; model names another of the
-- watch's models to backtest instead (with the default rule of kind model
-- if the watch has none enabled).
CREATE FUNCTION vigil.replay(relation regclass, since timestamptz DEFAULT NULL,
							 until timestamptz DEFAULT NULL, from_empty boolean DEFAULT false,
							 model bigint DEFAULT NULL)
	RETURNS TABLE (row_ref jsonb, key text, event_time timestamptz, amount float8,
				   score float8, fired text[], explanation jsonb)
	AS 'MODULE_PATHNAME', 'vigil_replay'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.replay(regclass, timestamptz, timestamptz, boolean, bigint) IS
	'backtest: the current rules and active model (or that model) over the table''s rows in [since, until), each scored against its key''s profile from every earlier row (from_empty: from the rows since then only); changes nothing';

-- A profile's history is every row of its key in the table: what detection
-- folded, what replay and verify read by default.  A rebuild from a time on
-- (since) forgets the rows before it, and then agrees with replay and verify
-- only when they are given the same since.
CREATE FUNCTION vigil.rebuild(relation regclass, since timestamptz DEFAULT NULL)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_rebuild'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.rebuild(regclass, timestamptz) IS
	'recompute the live profiles from the table''s rows since then (NULL: all; blocks inserts until commit); returns the number of profiles';

-- Changing what is watched is for the extension's owner (superusers).
REVOKE ALL ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text),
	vigil.unwatch(regclass), vigil.rebuild(regclass, timestamptz),
	vigil.forget_watch(int, boolean), vigil.watched_column(regclass, name, text, regtype[]),
	vigil.watched_types(text), vigil.add_replica_trigger(regclass, int)
	FROM PUBLIC;
