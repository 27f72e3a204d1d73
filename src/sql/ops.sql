-- Operations: maintenance functions, their pg_cron jobs, the reporting views
-- and the read-only role vigil_reader.
--
-- pg_cron is optional: nothing here needs it to load.  Its functions are
-- called by dynamic SQL, schema-qualified, only when a job is (un)scheduled.

-- Retention: delete sent, dead and recorded alerts whose latest event
-- (created, last attempt, delivered) is older than older_than, and skipped
-- rows recorded before then.  Pending and sending alerts are never purged.
-- Returns how many alerts were deleted.
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
	WHERE a.status IN ('sent', 'dead', 'recorded')
	  AND greatest(a.created_at, a.last_attempt_at, a.delivered_at) < now() - older_than;
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM vigil.skipped s WHERE s.skipped_at < now() - older_than;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.purge_alerts(interval) IS
	'delete sent, dead and recorded alerts older than that (by their latest event), and skipped rows; returns how many alerts';

-- The daily repair: vigil.rebuild() of every watch, in watch order, in one
-- transaction; from all rows (history NULL, the default: profiles then equal
-- what replay and verify compute), or from the rows of the last `history`.
CREATE FUNCTION vigil.rebuild_all(history interval DEFAULT NULL)
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

-- The scheduled repair: vigil.rebuild() of every watch, and a snapshot of
-- its population priors (vigil.refresh_priors), in watch order, each
-- in a transaction of its own, so that each table waits for its own rebuild
-- only (rebuild_all holds every table until it commits, and can deadlock
-- with a transaction inserting into two of them).  A table that fails is
-- reported and the others still rebuilt; then the call fails, naming them.
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

-- The pg_cron jobs of this database: names, schedules and commands.  The
-- commands do nothing when vigil is not installed (after DROP EXTENSION).
-- Intervals are written in the postgres style, which reads back the same
-- whatever the job's session IntervalStyle.  Besides the rebuild and the
-- purge, a nightly vigil.retrain of each watch with labels (a label column
-- or analysts' verdicts), named by the watch's id: its command finds the
-- table by that id, which neither a rename nor a dump and restore changes.
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

COMMENT ON FUNCTION vigil.require_pg_cron() IS
	'an error saying how to enable pg_cron, unless it can be used from this database';

-- Register (or update in place) this database's maintenance jobs with
-- pg_cron: the daily rebuild and alert retention, and the nightly retrain
-- of each watch with labels.  The jobs run as the caller.  Same-named jobs
-- another role scheduled are replaced, so the database never has more than
-- one of each; retrain jobs of watches that have no labels any more (or are
-- gone) are removed.  A watch given labels later gets its job from the
-- next call.
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

COMMENT ON FUNCTION vigil.unschedule_maintenance() IS
	'remove this database''s pg_cron maintenance jobs; returns how many';

-- Maintenance is for the extension's owner (superusers).
REVOKE ALL ON PROCEDURE vigil.rebuild_each(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION vigil.purge_alerts(interval), vigil.rebuild_all(interval),
	vigil.require_pg_cron(), vigil.schedule_maintenance(text, text, interval, interval, text),
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

-- The reporting views show amounts as numeric rounded to cents:
-- vigil.alerts.amount is detection's float8, and a BI tool would print
-- 397.51 as 397.51000000000005 and add such values up inexactly.
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
	   vigil.notifier_running() AS notifier_running,
	   count(*) FILTER (WHERE a.status = 'recorded') AS recorded
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
