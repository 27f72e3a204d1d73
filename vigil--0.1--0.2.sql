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
					  'PERFORM FROM vigil.rebuild_all(%s); END IF; END$vigil$',
					  'vigil.rebuild_all(interval)', coalesce(quote_literal(history), ''));
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
	'register or update this database''s pg_cron jobs: vigil.rebuild_all(history) and vigil.purge_alerts(keep)';
