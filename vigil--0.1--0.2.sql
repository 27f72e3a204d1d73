-- pg_vigil: upgrade from 0.1 to 0.2 (ALTER EXTENSION vigil UPDATE).
-- Every schema change of 0.2 is here as well as in src/sql/, so an updated
-- database has the same objects as a fresh CREATE EXTENSION (test/t/010_upgrade.pl
-- compares them).

\echo Use "ALTER EXTENSION vigil UPDATE TO '0.2'" to load this file. \quit

-- A profile's history is every row of its key: vigil.rebuild, vigil.rebuild_all
-- and the scheduled rebuild default to all rows (0.1: the last 30 days, which
-- made live profiles differ from replay and verify).  Jobs scheduled under 0.1
-- keep the history they were given; vigil.schedule_maintenance() again
-- updates them to the new default.

CREATE OR REPLACE FUNCTION vigil.rebuild(relation regclass, since timestamptz DEFAULT NULL)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_rebuild'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.rebuild(regclass, timestamptz) IS
	'recompute the live profiles from the table''s rows since then (NULL: all; blocks inserts until commit); returns the number of profiles';

CREATE OR REPLACE FUNCTION vigil.rebuild_all(history interval DEFAULT NULL)
	RETURNS TABLE (relation regclass, profiles bigint)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w record;
BEGIN
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
		profiles := vigil.rebuild(w.relation, now() - history);	-- NULL: all rows
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION vigil.rebuild_all(interval) IS
	'vigil.rebuild() of every watched table from all its rows (or those of the last `history`); one row per table';

CREATE OR REPLACE FUNCTION vigil.maintenance_jobs(rebuild_schedule text DEFAULT '0 6 * * *',
									   purge_schedule text DEFAULT '30 5 * * *',
									   history interval DEFAULT NULL,
									   keep interval DEFAULT '90 days')
	RETURNS TABLE (job_name text, schedule text, command text)
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	SET IntervalStyle = 'postgres'
	AS $$
BEGIN
	IF rebuild_schedule IS NULL OR purge_schedule IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'rebuild_schedule, purge_schedule and keep must not be NULL';
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
					  'CALL vigil.rebuild_each(%s); END IF; END$vigil$',
					  'vigil.rebuild_each(interval)', coalesce(quote_literal(history), ''));
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

CREATE OR REPLACE FUNCTION vigil.schedule_maintenance(rebuild_schedule text DEFAULT '0 6 * * *',
										   purge_schedule text DEFAULT '30 5 * * *',
										   history interval DEFAULT NULL,
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
	'register or update this database''s pg_cron jobs: vigil.rebuild_each(history) and vigil.purge_alerts(keep)';

-- The attribute numbers C reads a watched table's rows by are those of
-- columns: a write to vigil.watches cannot make detection or replay read
-- outside a tuple (0.1 accepted 0 and negative numbers).  Dropping a
-- coordinate forgets both in one write, which the constraints allow.
CREATE OR REPLACE FUNCTION vigil.on_drop() RETURNS event_trigger
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

-- 0.1 let direct writes leave watches whose column numbers are no columns;
-- such rows would stop the constraints below.  A watch without a valid key,
-- amount or time column is forgotten, as dropping the column would have it;
-- an optional column that is none is dropped from its watch, a lone
-- coordinate with it.
DO $$
DECLARE
	w record;
BEGIN
	FOR w IN SELECT ws.id, ws.relation FROM vigil.watches ws
			 WHERE ws.key_attnum <= 0 OR ws.amount_attnum <= 0 OR ws.time_attnum <= 0 LOOP
		RAISE WARNING 'vigil: the watch on % had no valid key, amount or time column: forgotten', w.relation;
		PERFORM vigil.forget_watch(w.id, true);
	END LOOP;
END
$$;
UPDATE vigil.watches SET merchant_attnum = NULL WHERE merchant_attnum <= 0;
UPDATE vigil.watches SET category_attnum = NULL WHERE category_attnum <= 0;
UPDATE vigil.watches SET lat_attnum = NULL, lon_attnum = NULL
WHERE lat_attnum <= 0 OR lon_attnum <= 0 OR (lat_attnum IS NULL) <> (lon_attnum IS NULL);

ALTER TABLE vigil.watches
	ADD CONSTRAINT watches_key_attnum_check CHECK (key_attnum > 0),
	ADD CONSTRAINT watches_amount_attnum_check CHECK (amount_attnum > 0),
	ADD CONSTRAINT watches_time_attnum_check CHECK (time_attnum > 0),
	ADD CONSTRAINT watches_lat_attnum_check CHECK (lat_attnum > 0),
	ADD CONSTRAINT watches_lon_attnum_check CHECK (lon_attnum > 0),
	ADD CONSTRAINT watches_merchant_attnum_check CHECK (merchant_attnum > 0),
	ADD CONSTRAINT watches_category_attnum_check CHECK (category_attnum > 0),
	ADD CONSTRAINT watches_location_check CHECK ((lat_attnum IS NULL) = (lon_attnum IS NULL));

-- What an error inside detection does (issue 18): fail the insert, as 0.1
-- did, or let it commit unscored.
ALTER TABLE vigil.watches
	ADD COLUMN on_error text NOT NULL DEFAULT 'raise' CHECK (on_error IN ('raise', 'skip'));

-- Which rows' coordinates are where the card was (issue 21): without it
-- impossible_travel is off in a new watch's rules.
ALTER TABLE vigil.watches
	ADD COLUMN card_present_attnum int2 CHECK (card_present_attnum > 0),
	ADD CONSTRAINT watches_card_present_check
		CHECK (card_present_attnum IS NULL OR lat_attnum IS NOT NULL),
	-- hours of the day in the watch's time zone (issue 21); 0.1 counted UTC
	ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC';

CREATE OR REPLACE VIEW vigil.watch_columns AS
SELECT w.id AS watch_id, w.relation,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.key_attnum) AS key_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum) AS amount_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum) AS time_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lat_attnum) AS lat_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lon_attnum) AS lon_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum) AS merchant_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum) AS category_column,
	   w.alert_threshold,
	   (SELECT count(*) FROM vigil.skipped s WHERE s.watch_id = w.id) AS rows_skipped,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.card_present_attnum) AS card_present_column,
	   w.time_zone
FROM vigil.watches w;

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

-- Give a watched table the trigger that scores rows applied by logical
-- replication (see vigil.detect_replicated), enabled in the replica role
-- only, as the apply worker runs: in any other role vigil_detect fires.
CREATE FUNCTION vigil.add_replica_trigger(relation regclass, watch_id int)
	RETURNS void
	AS 'MODULE_PATHNAME', 'vigil_add_replica_trigger'
	LANGUAGE C VOLATILE STRICT;

REVOKE ALL ON FUNCTION vigil.add_replica_trigger(regclass, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.add_replica_trigger(regclass, int), vigil.detect_replicated()
	TO vigil_admin;

-- Tables watched before 0.2 detect on a logical replication subscriber too.
SELECT vigil.add_replica_trigger(w.relation, w.id)
FROM vigil.watches w
WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) w.relation);

-- vigil.unwatch takes the table's lock (dropping the trigger) before it
-- deletes profiles, the order inserts take them in: it deadlocked with an
-- insert in progress.
CREATE OR REPLACE FUNCTION vigil.forget_watch(id int, drop_trigger boolean)
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

-- A watched column's type change must keep a type detection reads for its
-- role (vigil.on_alter, an event trigger); vigil.watch and it take the
-- accepted types from one place, vigil.watched_types.
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

REVOKE ALL ON FUNCTION vigil.watched_types(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.watched_types(text) TO vigil_admin;

DROP FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8);

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

REVOKE ALL ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text)
	TO vigil_admin;

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

-- The scheduled repair rebuilds each table in a transaction of its own
-- (vigil.rebuild_each), so that inserts wait for their own table's rebuild
-- only; the jobs 0.1 scheduled keep calling vigil.rebuild_all.
CREATE PROCEDURE vigil.rebuild_each(history interval DEFAULT NULL)
	LANGUAGE plpgsql
	AS $$
-- No SET search_path: a procedure with one cannot COMMIT.  Every name is
-- schema-qualified instead.
DECLARE
	rel pg_catalog.regclass;
	n bigint;
	failed pg_catalog.text[] := '{}';
	err pg_catalog.text;
BEGIN
	IF history OPERATOR(pg_catalog.<=) interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = pg_catalog.format('history must be a positive interval, not %s', history);
	END IF;
	-- A watch whose table is gone without a DROP the event trigger saw is
	-- skipped.
	FOREACH rel IN ARRAY ARRAY(SELECT ws.relation FROM vigil.watches ws
							   WHERE EXISTS (SELECT FROM pg_catalog.pg_class c
											 WHERE c.oid OPERATOR(pg_catalog.=) ws.relation)
							   ORDER BY ws.id) LOOP
		BEGIN
			n := vigil.rebuild(rel, pg_catalog.now() OPERATOR(pg_catalog.-) history);	-- NULL: all rows
			RAISE NOTICE 'vigil: rebuilt % (% profiles)', rel, n;
			-- and today's snapshot of the population priors; its failure is
			-- no reason to undo the rebuild
			BEGIN
				PERFORM vigil.refresh_priors(rel);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
				RAISE WARNING 'vigil: could not refresh the priors of %: %', rel, err;
			END;
		EXCEPTION
			WHEN undefined_table OR undefined_object THEN
				-- dropped or unwatched since the list was made: nothing to do
				RAISE NOTICE 'vigil: % is no longer watched', rel;
			WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS err = MESSAGE_TEXT;
				RAISE WARNING 'vigil: could not rebuild %: %', rel, err;
				failed := failed OPERATOR(pg_catalog.||) rel::pg_catalog.text;
		END;
		COMMIT;
	END LOOP;
	IF pg_catalog.cardinality(failed) OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = pg_catalog.format('vigil.rebuild_each could not rebuild %s',
										pg_catalog.array_to_string(failed, ', ')),
			HINT = 'The other tables were rebuilt; the warnings above say why each failed.';
	END IF;
END
$$;

COMMENT ON PROCEDURE vigil.rebuild_each(interval) IS
	'vigil.rebuild() of every watched table, each in its own transaction (the scheduled repair); CALL it';

REVOKE ALL ON PROCEDURE vigil.rebuild_each(interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE vigil.rebuild_each(interval) TO vigil_admin;

-- A member of vigil_admin without USAGE on the schema cron gets a clear
-- 42501 saying what to grant (0.1: a raw "permission denied for schema cron").
CREATE OR REPLACE FUNCTION vigil.require_pg_cron()
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
	-- pg_cron 1.4 lets a role schedule jobs once a superuser grants it the
	-- schema and cron.schedule_in_database (looking into the schema without
	-- USAGE is a raw error)
	IF EXISTS (SELECT FROM pg_namespace n WHERE n.nspname = 'cron')
	   AND (NOT has_schema_privilege('cron', 'USAGE')
			OR (to_regprocedure('cron.schedule_in_database(text,text,text,text,text,boolean)') IS NOT NULL
				AND NOT has_function_privilege('cron.schedule_in_database(text,text,text,text,text,boolean)',
											   'EXECUTE'))) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = format('role "%s" may not use pg_cron', current_user),
			DETAIL = 'pg_cron 1.4 lets only superusers schedule jobs, unless a superuser grants USAGE '
					 'on the schema cron and EXECUTE on cron.schedule_in_database.',
			HINT = 'As a superuser: GRANT USAGE ON SCHEMA cron TO vigil_admin; GRANT EXECUTE ON FUNCTION '
				   'cron.schedule_in_database(text, text, text, text, text, boolean) TO vigil_admin; '
				   'or schedule the jobs as a superuser.';
	END IF;
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

-- Jobs scheduled under 0.1 keep calling vigil.rebuild_all with the history
-- they were given; say how to move them to the new job (a WARNING: an
-- extension script's NOTICEs are not shown).
DO $$
BEGIN
	IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
		IF EXISTS (SELECT FROM cron.job j WHERE j.command LIKE '%vigil.rebuild_all(%') THEN
			RAISE WARNING 'vigil: a pg_cron job still calls vigil.rebuild_all (0.1''s nightly rebuild)'
				USING HINT = 'Run SELECT * FROM vigil.schedule_maintenance() to make it CALL '
							 'vigil.rebuild_each(), from all rows, a table at a time.';
		END IF;
	END IF;
END
$$;

-- The incident switch (issue 18): vigil.enabled, settable by vigil_admin.
GRANT SET, ALTER SYSTEM ON PARAMETER vigil.enabled TO vigil_admin;

-- Alerts raised where no SNS topic is set are recorded, not queued
-- (issue 19): requeue sends them, purge_alerts retires them and old skipped
-- rows, the delivery views count them.
ALTER TABLE vigil.alerts DROP CONSTRAINT alerts_status_check,
	ADD CONSTRAINT alerts_status_check
		CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'recorded'));

CREATE OR REPLACE FUNCTION vigil.requeue(ids bigint[] DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	UPDATE vigil.alerts a
	SET status = 'pending', attempts = 0, next_attempt_at = now()
	WHERE (a.status = 'dead'
		   OR (a.status = 'recorded'
			   AND (current_setting('vigil.sns_topic_arn', true) <> ''
					OR EXISTS (SELECT FROM vigil.watches w
							   WHERE w.id = a.watch_id AND w.sns_topic_arn <> ''))))
	  AND (requeue.ids IS NULL OR a.id = ANY (requeue.ids));
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM vigil.wake_notifier();
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION vigil.requeue(bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION vigil.requeue(bigint[]) IS
	'retry dead alerts, and send recorded ones once a topic is set (all, or those with the given ids); returns how many were queued';

CREATE OR REPLACE VIEW vigil.delivery_status AS
SELECT s.status,
	   count(a.id) AS alerts,
	   now() - min(a.created_at) AS oldest_age,
	   min(a.next_attempt_at) FILTER (WHERE a.status = 'pending') AS next_attempt_at,
	   max(a.last_attempt_at) AS last_attempt_at,
	   (SELECT e.last_error FROM vigil.alerts e
		WHERE e.status = s.status AND e.last_error IS NOT NULL
		ORDER BY e.last_attempt_at DESC NULLS LAST, e.id DESC LIMIT 1) AS last_error
FROM (VALUES (1, 'pending'), (2, 'sending'), (3, 'sent'), (4, 'dead'), (5, 'recorded'))
	 AS s(ord, status)
	 LEFT JOIN vigil.alerts a ON a.status = s.status
GROUP BY s.ord, s.status
ORDER BY s.ord;

COMMENT ON VIEW vigil.delivery_status IS
	'alerts by delivery status: how many, the oldest one''s age, the next retry, the last error';

CREATE OR REPLACE FUNCTION vigil.purge_alerts(older_than interval DEFAULT '90 days')
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
	WHERE a.status IN ('sent', 'dead', 'recorded')
	  AND greatest(a.created_at, a.last_attempt_at, a.delivered_at) < now() - older_than;
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM vigil.skipped s WHERE s.skipped_at < now() - older_than;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.purge_alerts(interval) IS
	'delete sent, dead and recorded alerts older than that (by their latest event), and skipped rows; returns how many alerts';

CREATE OR REPLACE VIEW vigil.delivery_health AS
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
	   vigil.notifier_running() AS notifier_running,
	   count(*) FILTER (WHERE a.status = 'recorded') AS recorded
FROM vigil.alerts a;

COMMENT ON VIEW vigil.delivery_health IS
	'one row: alerts by delivery status, age of the oldest queued, the last hour''s deliveries and latency, the last error, the worker';

-- Rule names have at most 63 bytes and a watch at most 64 rules (issue 18).
-- Rules written under 0.1 stay as they are; say which ones are past the
-- limits, since a rename or a new rule will be refused.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT watch_id, name FROM vigil.rules WHERE octet_length(name) > 63 ORDER BY 1, 2 LOOP
		RAISE WARNING 'rule "%" of watch % has a name longer than 63 bytes; a rename to one as long will be refused',
			r.name, r.watch_id;
	END LOOP;
	FOR r IN SELECT watch_id, count(*) AS n FROM vigil.rules GROUP BY 1 HAVING count(*) > 64 ORDER BY 1 LOOP
		RAISE WARNING 'watch % has % rules, more than the 64 a watch may have; it can have no new rule until some are deleted',
			r.watch_id, r.n;
	END LOOP;
END
$$;

-- vigil.replay scores against profiles built from every earlier row; 0.1's
-- behaviour (profiles from since on) is the option from_empty (issue 20).
-- It scores with the watch's active model, or the one named (issue 22).
DROP FUNCTION vigil.replay(regclass, timestamptz, timestamptz);

CREATE FUNCTION vigil.replay(relation regclass, since timestamptz DEFAULT NULL,
							 until timestamptz DEFAULT NULL, from_empty boolean DEFAULT false,
							 model bigint DEFAULT NULL)
	RETURNS TABLE (row_ref jsonb, key text, event_time timestamptz, amount float8,
				   score float8, fired text[], explanation jsonb)
	AS 'MODULE_PATHNAME', 'vigil_replay'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.replay(regclass, timestamptz, timestamptz, boolean, bigint) IS
	'backtest: the current rules and active model (or that model) over the table''s rows in [since, until), each scored against its key''s profile from every earlier row (from_empty: from the rows since then only); changes nothing';

-- Detection measured against labels, and the alert budget (issue 20).
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

-- Population priors (issue 21): snapshots of what a watch's cards pay per category and when.

CREATE TABLE vigil.priors (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	-- built from the rows before this time (and within the refresh's history)
	as_of timestamptz NOT NULL,
	-- the category column's text; NULL: every row of the watch
	category text,
	n bigint NOT NULL CHECK (n > 0),
	-- of ln(amount), over the positive amounts
	log_mean float8 NOT NULL,
	log_stddev float8 NOT NULL CHECK (log_stddev >= 0),
	-- every row's share per local hour (0-23, the watch's time zone); NULL
	-- but for category NULL
	hour_shares float8[] CHECK (hour_shares IS NULL OR cardinality(hour_shares) = 24),
	UNIQUE NULLS NOT DISTINCT (watch_id, as_of, category)
);

COMMENT ON TABLE vigil.priors IS 'population priors of each watch, by snapshot (vigil.refresh_priors)';

SELECT pg_catalog.pg_extension_config_dump('vigil.priors', '');

CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.priors
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

-- The watch on relation, with its table locked for reading and checked to
-- be readable whole by the caller: fname, the calling function, reads it
-- as its caller, and a table whose row-level security applies would give
-- it some rows only, through policies that are the table owner's code.
-- The lock comes before the check, so that no policy added meanwhile
-- applies.
CREATE FUNCTION vigil.watch_to_read(relation regclass, fname text)
	RETURNS vigil.watches
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
BEGIN
	SELECT * INTO w FROM vigil.watches ws WHERE ws.relation = watch_to_read.relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', relation),
			HINT = 'Call vigil.watch() first.';
	END IF;
	EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', w.relation);
	IF row_security_active(w.relation) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = format('%s must read every row of table %s', fname, w.relation),
			DETAIL = 'Row-level security applies to the current user.',
			HINT = 'Run it as a role the policies do not apply to: a superuser, a role with BYPASSRLS, or the table''s owner unless the table forces row security.';
	END IF;
	RETURN w;
END
$$;

REVOKE ALL ON FUNCTION vigil.watch_to_read(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.watch_to_read(regclass, text) TO vigil_admin;

-- SQL for the event time of a row t of the watched table, as detection
-- reads it: a timestamp is UTC, an integer seconds since the epoch.  The
-- column's name is quoted from the catalog.
CREATE FUNCTION vigil.event_time_sql(w vigil.watches)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT CASE a.atttypid
		   WHEN 'timestamptz'::regtype THEN format('t.%I', a.attname)
		   WHEN 'timestamp'::regtype THEN format('(t.%I AT TIME ZONE ''UTC'')', a.attname)
		   ELSE format('pg_catalog.to_timestamp(t.%I)', a.attname)
	   END
FROM pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum
$$;

REVOKE ALL ON FUNCTION vigil.event_time_sql(vigil.watches) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.event_time_sql(vigil.watches) TO vigil_admin;

-- Take a snapshot of the watch's population priors from the table's rows
-- with event times in [as_of - history, as_of): per category (the 200 most
-- frequent) and over all rows, the count, mean and standard deviation of
-- ln(amount) over positive amounts; over all rows, the share per hour of
-- the day in the watch's time zone.  A snapshot at the same as_of is
-- replaced, and the watch's snapshots older than as_of - keep are deleted:
-- every backend that detects holds them all, so what is kept bounds its
-- memory.  Reads the table as the caller, refusing a table whose row-level
-- security applies to the caller (the snapshot would be of some rows, and
-- the policies are the table owner's code).  Returns the rows written.
CREATE FUNCTION vigil.refresh_priors(relation regclass, as_of timestamptz DEFAULT now(),
									 history interval DEFAULT '90 days',
									 keep interval DEFAULT '90 days')
	RETURNS int
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
	amount_col name;
	cat_col name;
	t_expr text;
	window_sql text;
	hours float8[];
	zone text;
	n int;
	written int := 0;
BEGIN
	IF relation IS NULL OR as_of IS NULL OR history IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation, as_of, history and keep must not be NULL';
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
	w := vigil.watch_to_read(relation, 'vigil.refresh_priors');
	SELECT a.attname INTO amount_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum;
	SELECT a.attname INTO cat_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum;

	-- every name is quoted from the catalogs
	t_expr := vigil.event_time_sql(w);
	window_sql := format('FROM %s AS t WHERE %s >= $3 AND %s < $2 AND t.%I IS NOT NULL',
						 w.relation, t_expr, t_expr, amount_col);

	DELETE FROM vigil.priors p
	WHERE p.watch_id = w.id AND (p.as_of = refresh_priors.as_of OR p.as_of < refresh_priors.as_of - keep);

	-- hours of the day as detection counts them, by the zone's rules (AT
	-- TIME ZONE would read a name that is also an abbreviation, such as
	-- CET, as a fixed offset); the setting is restored before returning
	zone := current_setting('TimeZone');
	PERFORM set_config('TimeZone', w.time_zone, true);
	EXECUTE format('SELECT pg_catalog.array_agg(COALESCE(c.n, 0)::pg_catalog.float8 / tot.n ORDER BY hh) '
				   'FROM pg_catalog.generate_series(0, 23) hh '
				   'CROSS JOIN (SELECT pg_catalog.count(*) AS n %s) tot '
				   'LEFT JOIN (SELECT pg_catalog.date_part(''hour'', %s)::int AS h, '
				   '                  pg_catalog.count(*) AS n %s GROUP BY 1) c ON c.h = hh '
				   'WHERE tot.n > 0',
				   window_sql, t_expr, window_sql)
		INTO hours USING w.id, as_of, as_of - history;
	PERFORM set_config('TimeZone', zone, true);

	EXECUTE format('INSERT INTO vigil.priors (watch_id, as_of, category, n, log_mean, log_stddev, hour_shares) '
				   'SELECT $1, $2, NULL, pg_catalog.count(*), pg_catalog.avg(s.l), '
				   '       COALESCE(pg_catalog.stddev_pop(s.l), 0), $4 '
				   'FROM (SELECT pg_catalog.ln(t.%I::pg_catalog.float8) AS l %s AND t.%I > 0) s '
				   'HAVING pg_catalog.count(*) > 0',
				   amount_col, window_sql, amount_col)
		USING w.id, as_of, as_of - history, hours;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;

	IF cat_col IS NOT NULL THEN
		EXECUTE format('INSERT INTO vigil.priors (watch_id, as_of, category, n, log_mean, log_stddev) '
					   'SELECT $1, $2, s.c, pg_catalog.count(*), pg_catalog.avg(s.l), '
					   '       COALESCE(pg_catalog.stddev_pop(s.l), 0) '
					   'FROM (SELECT pg_catalog.format(''%%s'', t.%I) AS c, '
					   '             pg_catalog.ln(t.%I::pg_catalog.float8) AS l '
					   '      %s AND t.%I > 0 AND t.%I IS NOT NULL) s '
					   'GROUP BY s.c ORDER BY pg_catalog.count(*) DESC, s.c LIMIT 200',
					   cat_col, amount_col, window_sql, amount_col, cat_col)
			USING w.id, as_of, as_of - history;
		GET DIAGNOSTICS n = ROW_COUNT;
		written := written + n;
	END IF;
	RETURN written;
END
$$;

COMMENT ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) IS
	'take a snapshot of the watch''s population priors (amounts per category, traffic per hour) from the rows in [as_of - history, as_of), dropping snapshots older than as_of - keep; returns the rows written';

REVOKE ALL ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.priors TO vigil_admin;

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

-- Merchant risk: each merchant's share of labelled fraud in the 1, 7 and
-- 30 days before its labels were known, as snapshots
-- (vigil.refresh_merchant_risk), read by the rule kind merchant_risk and
-- by learned models.  An event at time t is judged by the newest snapshot
-- taken at or before t, in detection, replay and training alike.

CREATE TABLE vigil.merchant_risk (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	-- from the labels of the rows before as_of - delay, those known at as_of
	as_of timestamptz NOT NULL,
	-- the merchant column's text; NULL: the snapshot's totals over every
	-- merchant (so that a snapshot with no fraud is still one)
	merchant text,
	-- labelled rows, and fraud among them, in the 1, 7 and 30 days before
	-- as_of - delay
	rows_1d int NOT NULL CHECK (rows_1d >= 0),
	fraud_1d int NOT NULL CHECK (fraud_1d >= 0 AND fraud_1d <= rows_1d),
	rows_7d int NOT NULL CHECK (rows_7d >= rows_1d),
	fraud_7d int NOT NULL CHECK (fraud_7d >= fraud_1d AND fraud_7d <= rows_7d),
	rows_30d int NOT NULL CHECK (rows_30d >= rows_7d),
	fraud_30d int NOT NULL CHECK (fraud_30d >= fraud_7d AND fraud_30d <= rows_30d),
	delay interval NOT NULL,
	UNIQUE NULLS NOT DISTINCT (watch_id, as_of, merchant)
);

COMMENT ON TABLE vigil.merchant_risk IS
	'labelled fraud per merchant of each watch, by snapshot (vigil.refresh_merchant_risk)';

SELECT pg_catalog.pg_extension_config_dump('vigil.merchant_risk', '');

CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.merchant_risk
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

-- Take a snapshot of the watch's merchant risk at as_of from the labels of
-- the rows with event times before as_of - delay (the labels known by
-- as_of: fraud is reported days after it happens): per merchant with fraud
-- among them in the last 30 days of that, the labelled rows and the fraud
-- in its last 1, 7 and 30 days, and the totals over all merchants.  The
-- label column is boolean or an integer 0/1 (another integer is an error);
-- rows whose label or merchant is NULL are not counted.  This assumes that
-- a label is known within delay of its row: labels are read as they are
-- now, so a snapshot taken for a past as_of counts the ones reported late.  A snapshot at the same as_of is replaced, and the watch's
-- snapshots older than as_of - keep are deleted: every backend that
-- detects holds them all.  Reads the table as the caller
-- (vigil.watch_to_read).  Returns the rows written.
CREATE FUNCTION vigil.refresh_merchant_risk(relation regclass, label_column name,
											as_of timestamptz DEFAULT now(),
											delay interval DEFAULT '7 days',
											keep interval DEFAULT '90 days')
	RETURNS int
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
	merchant_col name;
	label_type oid;
	t_expr text;
	f_expr text;
	horizon timestamptz;
	n int;
BEGIN
	IF relation IS NULL OR label_column IS NULL OR as_of IS NULL OR delay IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation, label_column, as_of, delay and keep must not be NULL';
	END IF;
	IF delay < interval '0' OR keep < interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('delay and keep must not be negative, not %s and %s', delay, keep);
	END IF;
	w := vigil.watch_to_read(relation, 'vigil.refresh_merchant_risk');
	IF w.merchant_attnum IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('the watch on table %s has no merchant column', relation),
			HINT = 'Watch the table with merchant_column.';
	END IF;
	SELECT a.attname INTO merchant_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum;
	SELECT a.atttypid INTO label_type FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attname = label_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_column',
			MESSAGE = format('column "%s" of table %s does not exist', label_column, relation);
	END IF;
	IF label_type NOT IN ('boolean'::regtype, 'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'datatype_mismatch',
			MESSAGE = format('label column "%s" is of type %s, not boolean or integer',
							 label_column, label_type::regtype);
	END IF;

	-- every name is quoted from the catalogs or by format
	t_expr := vigil.event_time_sql(w);
	horizon := as_of - delay;
	-- fraud as vigil.train and vigil.evaluate read it: true, or the integer 1
	f_expr := CASE label_type WHEN 'boolean'::regtype THEN format('t.%I', label_column)
			  ELSE format('t.%I OPERATOR(pg_catalog.=) 1', label_column) END;
	IF label_type <> 'boolean'::regtype THEN
		EXECUTE format('SELECT pg_catalog.count(*) FROM %s AS t WHERE %s OPERATOR(pg_catalog.>=) $1 '
					   'AND %s OPERATOR(pg_catalog.<) $2 AND t.%I NOT IN (0, 1)',
					   w.relation, t_expr, t_expr, label_column)
			INTO n USING horizon - interval '30 days', horizon;
		IF n > 0 THEN
			RAISE EXCEPTION USING
				ERRCODE = 'data_exception',
				MESSAGE = format('label column "%s" must be 0 or 1, not another integer', label_column),
				DETAIL = format('%s of its rows in the 30 days before %s are neither.', n, horizon);
		END IF;
	END IF;

	DELETE FROM vigil.merchant_risk m
	WHERE m.watch_id = w.id AND (m.as_of = refresh_merchant_risk.as_of OR m.as_of < refresh_merchant_risk.as_of - keep);

	-- the merchant's text as detection hashes it (its type's output); rows
	-- without a merchant or a label do not count
	EXECUTE format('WITH r AS ('
				   '  SELECT pg_catalog.format(''%%s'', t.%I) AS m, %s AS t, %s AS f '
				   '  FROM %s AS t '
				   '  WHERE %s OPERATOR(pg_catalog.>=) $5 '
				   '    AND %s OPERATOR(pg_catalog.<) $3 AND t.%I IS NOT NULL AND t.%I IS NOT NULL) '
				   'INSERT INTO vigil.merchant_risk (watch_id, as_of, merchant, rows_1d, fraud_1d, '
				   '                                 rows_7d, fraud_7d, rows_30d, fraud_30d, delay) '
				   'SELECT $1, $2, g.m, g.r1, g.f1, g.r7, g.f7, g.r30, g.f30, $4 FROM ('
				   '  SELECT r.m, '
				   '    pg_catalog.count(*) FILTER (WHERE r.t OPERATOR(pg_catalog.>=) $7) AS r1, '
				   '    pg_catalog.count(*) FILTER (WHERE r.f AND r.t OPERATOR(pg_catalog.>=) $7) AS f1, '
				   '    pg_catalog.count(*) FILTER (WHERE r.t OPERATOR(pg_catalog.>=) $6) AS r7, '
				   '    pg_catalog.count(*) FILTER (WHERE r.f AND r.t OPERATOR(pg_catalog.>=) $6) AS f7, '
				   '    pg_catalog.count(*) AS r30, pg_catalog.count(*) FILTER (WHERE r.f) AS f30 '
				   '  FROM r GROUP BY ROLLUP (r.m)) g(m, r1, f1, r7, f7, r30, f30) '
				   'WHERE g.m IS NULL OR g.f30 OPERATOR(pg_catalog.>) 0 '
				   'ORDER BY g.m NULLS FIRST',
				   merchant_col, t_expr, f_expr, w.relation, t_expr, t_expr, label_column, merchant_col)
		USING w.id, as_of, horizon, delay, horizon - interval '30 days', horizon - interval '7 days',
			  horizon - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) IS
	'take a snapshot of the watch''s merchant risk at as_of from the labels of the rows before as_of - delay (fraud and labelled rows per merchant in 1, 7 and 30 days), dropping snapshots older than as_of - keep; returns the rows written';

REVOKE ALL ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.merchant_risk TO vigil_admin;

-- Labels in daily use (issue 23): the watched table's own label column,
-- how old a row must be for its label to be trusted, and the alert budget
-- vigil.retrain calibrates to; a dropped label column is forgotten.
ALTER TABLE vigil.watches
	ADD COLUMN label_attnum int2 CHECK (label_attnum > 0),
	ADD COLUMN label_maturity interval NOT NULL DEFAULT '30 days' CHECK (label_maturity >= interval '0'),
	ADD COLUMN alert_budget float8 CHECK (alert_budget > 0 AND alert_budget < 1);

CREATE OR REPLACE VIEW vigil.watch_columns AS
SELECT w.id AS watch_id, w.relation,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.key_attnum) AS key_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum) AS amount_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum) AS time_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lat_attnum) AS lat_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lon_attnum) AS lon_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum) AS merchant_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum) AS category_column,
	   w.alert_threshold,
	   (SELECT count(*) FROM vigil.skipped s WHERE s.watch_id = w.id) AS rows_skipped,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.card_present_attnum) AS card_present_column,
	   w.time_zone,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.label_attnum) AS label_column
FROM vigil.watches w;

CREATE OR REPLACE FUNCTION vigil.on_drop() RETURNS event_trigger
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

-- The maintenance jobs include a nightly vigil.retrain of each watch with
-- labels (issue 23), on a schedule of its own.
DROP FUNCTION vigil.schedule_maintenance(text, text, interval, interval);
DROP FUNCTION vigil.maintenance_jobs(text, text, interval, interval);

CREATE FUNCTION vigil.maintenance_jobs(rebuild_schedule text DEFAULT '0 6 * * *',
									   purge_schedule text DEFAULT '30 5 * * *',
									   history interval DEFAULT NULL,
									   keep interval DEFAULT '90 days',
									   retrain_schedule text DEFAULT '0 3 * * *')
	RETURNS TABLE (job_name text, schedule text, command text)
	LANGUAGE plpgsql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	SET IntervalStyle = 'postgres'
	AS $$
DECLARE
	watch int;
BEGIN
	IF rebuild_schedule IS NULL OR purge_schedule IS NULL OR keep IS NULL
	   OR retrain_schedule IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'rebuild_schedule, purge_schedule, keep and retrain_schedule must not be NULL';
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
					  'CALL vigil.rebuild_each(%s); END IF; END$vigil$',
					  'vigil.rebuild_each(interval)', coalesce(quote_literal(history), ''));
	RETURN NEXT;
	job_name := ('vigil-purge-' || current_database())::name;
	schedule := purge_schedule;
	command := format('DO $vigil$BEGIN IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN '
					  'PERFORM vigil.purge_alerts(%L); END IF; END$vigil$',
					  'vigil.purge_alerts(interval)', keep);
	RETURN NEXT;
	FOR watch IN SELECT w.id FROM vigil.watches w
				 WHERE w.label_attnum IS NOT NULL
					OR EXISTS (SELECT FROM vigil.verdicts v WHERE v.watch_id = w.id)
				 ORDER BY w.id LOOP
		job_name := ('vigil-retrain-' || watch || '-' || current_database())::name;
		schedule := retrain_schedule;
		command := format('DO $vigil$BEGIN IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN '
						  'PERFORM vigil.retrain(w.relation) FROM vigil.watches w '
						  'WHERE w.id OPERATOR(pg_catalog.=) %s; END IF; END$vigil$',
						  'vigil.retrain(regclass,jsonb)', watch);
		RETURN NEXT;
	END LOOP;
END
$$;

COMMENT ON FUNCTION vigil.maintenance_jobs(text, text, interval, interval, text) IS
	'the pg_cron jobs vigil.schedule_maintenance() registers for this database: name, schedule, command';

CREATE FUNCTION vigil.schedule_maintenance(rebuild_schedule text DEFAULT '0 6 * * *',
										   purge_schedule text DEFAULT '30 5 * * *',
										   history interval DEFAULT NULL,
										   keep interval DEFAULT '90 days',
										   retrain_schedule text DEFAULT '0 3 * * *')
	RETURNS TABLE (jobid bigint, job_name text, schedule text, command text)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	j record;
	other bigint;
	param text;
	err text;
	names text[] := '{}';
BEGIN
	PERFORM vigil.require_pg_cron();
	FOR j IN SELECT * FROM vigil.maintenance_jobs(rebuild_schedule, purge_schedule, history, keep,
												  retrain_schedule) LOOP
		param := CASE WHEN j.job_name LIKE 'vigil-rebuild-%' THEN 'rebuild_schedule'
					  WHEN j.job_name LIKE 'vigil-retrain-%' THEN 'retrain_schedule'
					  ELSE 'purge_schedule' END;
		names := names || j.job_name;
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
	FOR other IN EXECUTE 'SELECT c.jobid FROM cron.job c WHERE c.database = $1 '
						 'AND c.jobname LIKE $2 AND c.jobname <> ALL ($3) ORDER BY c.jobid'
		USING current_database(), 'vigil-retrain-%', names LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING other;
	END LOOP;
END
$$;

COMMENT ON FUNCTION vigil.schedule_maintenance(text, text, interval, interval, text) IS
	'register or update this database''s pg_cron jobs: vigil.rebuild_each(history), vigil.purge_alerts(keep) and vigil.retrain of each watch with labels';

CREATE OR REPLACE FUNCTION vigil.unschedule_maintenance()
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	id bigint;
	n bigint := 0;
BEGIN
	PERFORM vigil.require_pg_cron();
	FOR id IN EXECUTE 'SELECT c.jobid FROM cron.job c WHERE c.jobname = ANY ($1) '
					  'OR (c.database = $2 AND c.jobname LIKE $3) ORDER BY c.jobid'
		USING ARRAY(SELECT m.job_name FROM vigil.maintenance_jobs() m), current_database(),
			  'vigil-retrain-%' LOOP
		EXECUTE 'SELECT cron.unschedule($1)' USING id;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION vigil.schedule_maintenance(text, text, interval, interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.schedule_maintenance(text, text, interval, interval, text) TO vigil_admin;

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

-- Drift: how a model scores the rows arriving now against how it scored
-- its validation rows, so that a team sees when fraud or traffic has moved.

-- Every row in [since, until) with the model's probability (NULL where it
-- cannot score the row) and the watch's score, as replay computes them.
-- Reads the table as its caller, like replay.
CREATE FUNCTION vigil.model_scores(relation regclass, since timestamptz DEFAULT NULL,
								   until timestamptz DEFAULT NULL, model bigint DEFAULT NULL)
	RETURNS TABLE (event_time timestamptz, probability float8, score float8)
	AS 'MODULE_PATHNAME', 'vigil_model_scores'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.model_scores(regclass, timestamptz, timestamptz, bigint) IS
	'each row in [since, until) with the probability the active model (or that model) gives it and the watch''s score, against its key''s profile from every earlier row; changes nothing';

-- A model's scores on two windows of the table: its validation rows
-- ([validation_from, last_event]) and the recent ones (the last `recent`
-- of event time): rows, the share that would alert at the watch's
-- threshold, the mean and quantiles of the probability, and on the recent
-- row the population stability index of the probabilities against the
-- validation ones (above 0.25 is commonly read as a shift; NULL when a
-- window has no row the model scores), over ten bins
-- of fixed, mostly small edges: fraud probabilities are mostly small, and
-- a model's are few distinct values, so deciles would tie.  Each call
-- replays the table twice.
CREATE FUNCTION vigil.drift(relation regclass, recent interval DEFAULT '7 days',
							model bigint DEFAULT NULL)
	RETURNS TABLE (model_id bigint, period text, since timestamptz, until timestamptz, rows bigint,
				   alert_rate float8, mean_probability float8, p50 float8, p90 float8, p99 float8,
				   psi float8)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	m record;
	threshold float8;
	recent_from timestamptz := now() - recent;
BEGIN
	IF relation IS NULL OR recent IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation and recent must not be NULL';
	END IF;
	IF recent <= interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('recent must be a positive interval, not %s', recent);
	END IF;
	SELECT w.id, w.alert_threshold INTO m FROM vigil.watches w WHERE w.relation = drift.relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', drift.relation);
	END IF;
	threshold := m.alert_threshold;
	SELECT mo.id, mo.validation_from, mo.last_event INTO m FROM vigil.models mo
	WHERE mo.watch_id = m.id AND (mo.id = drift.model OR (drift.model IS NULL AND mo.state = 'active'));
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = CASE WHEN drift.model IS NULL THEN 'object_not_in_prerequisite_state'
						   ELSE 'undefined_object' END,
			MESSAGE = CASE WHEN drift.model IS NULL
						   THEN format('the watch on table %s has no active model', drift.relation)
						   ELSE format('model %s is not one of the watch on table %s', drift.model,
									   drift.relation) END;
	END IF;
	RETURN QUERY
	WITH scores AS (
		SELECT 'validation' AS period, s.probability, s.score
		FROM vigil.model_scores(drift.relation, m.validation_from, m.last_event + interval '1 microsecond',
								m.id) s
		UNION ALL
		SELECT 'recent', s.probability, s.score
		FROM vigil.model_scores(drift.relation, recent_from, NULL, m.id) s
	),
	bins AS (
		SELECT s.period,
			   width_bucket(s.probability, ARRAY[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]::float8[])
				   AS bin,
			   count(*) AS n
		FROM scores s WHERE s.probability IS NOT NULL GROUP BY 1, 2
	),
	shares AS (
		SELECT b.bin,
			   greatest(coalesce(sum(b.n) FILTER (WHERE b.period = 'validation'), 0)
						/ nullif(sum(sum(b.n) FILTER (WHERE b.period = 'validation')) OVER (), 0), 1e-4)
				   AS v,
			   greatest(coalesce(sum(b.n) FILTER (WHERE b.period = 'recent'), 0)
						/ nullif(sum(sum(b.n) FILTER (WHERE b.period = 'recent')) OVER (), 0), 1e-4)
				   AS r
		FROM bins b GROUP BY b.bin
	)
	SELECT m.id, p.period,
		   CASE p.period WHEN 'validation' THEN m.validation_from ELSE recent_from END,
		   CASE p.period WHEN 'validation' THEN m.last_event ELSE now() END,
		   count(s.period),
		   avg((s.score >= threshold)::int)::float8,
		   avg(s.probability),
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY s.probability),
		   percentile_cont(0.9) WITHIN GROUP (ORDER BY s.probability),
		   percentile_cont(0.99) WITHIN GROUP (ORDER BY s.probability),
		   CASE WHEN p.period = 'recent' AND
					 (SELECT count(DISTINCT b.period) FROM bins b) = 2
			   THEN (SELECT sum((sh.r - sh.v) * ln(sh.r / sh.v))::float8 FROM shares sh) END
	FROM (VALUES ('validation'), ('recent')) p (period)
		 LEFT JOIN scores s ON s.period = p.period
	GROUP BY p.period
	ORDER BY p.period DESC;
END
$$;

COMMENT ON FUNCTION vigil.drift(regclass, interval, bigint) IS
	'the active model''s (or that model''s) scores on its validation rows and on the recent ones: rows, alert rate at the watch''s threshold, probability mean and quantiles, population stability index';

-- Each active model's drift over the last 7 days, for dashboards.  Every
-- read replays the watched tables (vigil.drift): snapshot it daily with
-- pg_cron into a table of your own rather than reading it often.
CREATE VIEW vigil.model_drift AS
SELECT w.relation, d.model_id, d.period, d.since, d.until, d.rows, d.alert_rate, d.mean_probability,
	   d.p50, d.p90, d.p99, d.psi
FROM vigil.watches w
	 JOIN vigil.models mo ON mo.watch_id = w.id AND mo.state = 'active'
	 CROSS JOIN LATERAL vigil.drift(w.relation, interval '7 days', mo.id) d;

COMMENT ON VIEW vigil.model_drift IS
	'each active model''s scores on its validation rows and on the last 7 days: alert rate, probability quantiles, population stability index';

REVOKE ALL ON vigil.model_drift FROM PUBLIC;
GRANT SELECT ON vigil.model_drift TO vigil_admin;
REVOKE ALL ON FUNCTION vigil.drift(regclass, interval, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.drift(regclass, interval, bigint) TO vigil_admin;

-- Detection beside a database that cannot load vigil (Amazon RDS): a
-- subscriber's apply worker inserts the published rows, and
-- vigil.detect_replicated scores them (src/detect/replica.c).  One row per
-- watched table that a subscription writes: how far the subscription is
-- behind (times come from the publisher's and this server's clocks) next
-- to what vigil made of its rows; plain column types, as the other
-- reporting views, for BI tools.
CREATE VIEW vigil.replication_status AS
SELECT s.subname::text AS subscription,
	   vigil.table_name(w.relation) AS table_name,
	   CASE r.srsubstate
		   WHEN 'i' THEN 'initializing'
		   WHEN 'd' THEN 'copying'
		   WHEN 'f' THEN 'copied'
		   WHEN 's' THEN 'synchronized'
		   WHEN 'r' THEN 'ready'
	   END AS state,
	   s.subenabled AS enabled,
	   st.pid IS NOT NULL AS worker_running,
	   st.last_msg_send_time,
	   st.last_msg_receipt_time,
	   extract(epoch FROM st.last_msg_receipt_time - st.last_msg_send_time)::float8 * 1000
		   AS receipt_delay_ms,
	   extract(epoch FROM now() - st.last_msg_receipt_time)::float8 AS seconds_since_last_message,
	   st.latest_end_lsn::text AS confirmed_lsn,
	   ss.apply_error_count,
	   (SELECT count(*) FROM vigil.alerts a
		WHERE a.relation OPERATOR(pg_catalog.=) w.relation
		  AND a.created_at >= now() - interval '1 hour') AS alerts_last_hour,
	   (SELECT max(a.created_at) FROM vigil.alerts a
		WHERE a.relation OPERATOR(pg_catalog.=) w.relation) AS last_alert_at,
	   (SELECT count(*) FROM vigil.skipped k
		WHERE k.relation OPERATOR(pg_catalog.=) w.relation
		  AND k.skipped_at >= now() - interval '1 hour') AS skipped_last_hour
FROM pg_catalog.pg_subscription s
	 JOIN pg_catalog.pg_subscription_rel r ON r.srsubid = s.oid
	 JOIN vigil.watches w ON w.relation = r.srrelid
	 LEFT JOIN pg_catalog.pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
	 LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid
WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d
				   WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());

COMMENT ON VIEW vigil.replication_status IS
	'per watched table a subscription writes: its state, the apply worker, the last message''s delay, apply errors, and the last hour''s alerts and skipped rows';

GRANT SELECT ON vigil.replication_status TO vigil_admin, vigil_reader;

-- Sharding by card (docs/scale-out.md): each shard numbers its alerts
-- apart from the others, since an alert's id is also its SNS FIFO
-- deduplication id and the key of the coordinator's union of the shards'
-- feeds.  Shard k of n numbers them k mod n: ids stay small numbers that
-- any JSON reader takes exactly, and alerts already there keep theirs.
CREATE FUNCTION vigil.set_shard(shard int, shards int)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	first_id bigint;
BEGIN
	IF shards IS NULL OR shards < 1 OR shards > 4096 THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('shards must be between 1 and 4096, not %s', coalesce(shards::text, 'NULL'));
	END IF;
	IF shard IS NULL OR shard < 0 OR shard >= shards THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('shard must be between 0 and %s, not %s', shards - 1,
							 coalesce(shard::text, 'NULL')),
			HINT = 'Number the shards 0, 1, ... shards - 1, each once.';
	END IF;
	-- no alert takes an id while they are renumbered
	LOCK TABLE vigil.alerts IN EXCLUSIVE MODE;
	SELECT greatest((SELECT max(a.id) FROM vigil.alerts a),
					(SELECT s.last_value FROM vigil.alerts_id_seq s)) + 1
	INTO first_id;
	first_id := first_id + ((shard - first_id % shards) % shards + shards) % shards;
	EXECUTE format('ALTER SEQUENCE vigil.alerts_id_seq INCREMENT BY %s RESTART WITH %s', shards, first_id);
	RETURN first_id;
END
$$;

COMMENT ON FUNCTION vigil.set_shard(int, int) IS
	'number this node''s alerts as shard shard of shards (ids congruent to shard modulo shards); returns the next alert id';

REVOKE ALL ON FUNCTION vigil.set_shard(int, int) FROM PUBLIC;

-- The reporting views show amounts as numeric rounded to cents:
-- vigil.alerts.amount is detection's float8, and a BI tool would print
-- 397.51 as 397.51000000000005 and add such values up inexactly.  A view's
-- column cannot change type in place, so the three views are dropped and
-- made again, and every privilege held on them is granted again (a view of
-- the user's own built on one of them makes the DROP fail, saying so: drop
-- it, update, and create it again).
CREATE TEMP TABLE vigil_view_grants AS
SELECT c.relname, a.grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY['vigil.alert_feed'::pg_catalog.regclass,
	  'vigil.alerts_by_hour'::pg_catalog.regclass, 'vigil.rule_hits_daily'::pg_catalog.regclass])
	  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner;

DROP VIEW vigil.alert_feed, vigil.alerts_by_hour, vigil.rule_hits_daily;

CREATE VIEW vigil.alert_feed AS
SELECT a.id AS alert_id,
	   a.watch_id,
	   vigil.table_name(a.relation) AS table_name,
	   a.row_ref::text AS row_ref,
	   a.key,
	   round(a.amount::numeric, 2) AS amount,
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
			 round(sum(a.amount::numeric), 2) AS amount,
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
			 round(sum(a.amount::numeric), 2) AS amount,
			 avg(a.score) AS avg_score
	  FROM vigil.alerts a, unnest(a.fired) r(rule)
	  GROUP BY 1, 2, 3) d;

COMMENT ON VIEW vigil.rule_hits_daily IS
	'per day of event time (UTC), table and rule: alerts the rule fired in, alone, keys, amount, mean score';

DO $$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT * FROM pg_temp.vigil_view_grants LOOP
		EXECUTE pg_catalog.format('GRANT %s ON vigil.%I TO %s%s', g.privilege_type, g.relname,
								  CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,
								  CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$$;

DROP TABLE pg_temp.vigil_view_grants;
