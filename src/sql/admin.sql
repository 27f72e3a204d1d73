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
	vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text),
	vigil.watched_column(regclass, name, text, regtype[]),
	vigil.watched_types(text),
	vigil.unwatch(regclass),
	vigil.forget_watch(int, boolean),
	vigil.detect(),
	vigil.add_replica_trigger(regclass, int),
	vigil.detect_replicated(),
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
	vigil.schedule_maintenance(text, text, interval, interval, text),
	vigil.unschedule_maintenance()
	TO vigil_admin;

GRANT EXECUTE ON PROCEDURE vigil.rebuild_each(interval) TO vigil_admin;

-- Everything else vigil shows: the views and the metric cursor.
GRANT SELECT ON vigil.watch_columns, vigil.profile_summary, vigil.delivery_status,
	vigil.alert_feed, vigil.alerts_by_hour, vigil.rule_hits_daily, vigil.key_risk,
	vigil.delivery_health, vigil.metric_cursor
	TO vigil_admin;

-- The incident switch: an admin may turn detection off in a session, and
-- for the whole server with ALTER SYSTEM (effective at the next reload).
-- Like the role, these grants outlive DROP EXTENSION.
GRANT SET, ALTER SYSTEM ON PARAMETER vigil.enabled TO vigil_admin;
