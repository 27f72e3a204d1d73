-- Security: what an inserter, a member of vigil_admin and everyone else
-- may do; SECURITY DEFINER functions and dynamic SQL; tables and columns
-- with hostile names; AWS secrets kept from everyone but superusers.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE EXTENSION vigil;

-- The outcome of a statement: 'ok', or its SQLSTATE and message.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

--
-- The roles the extension creates: NOLOGIN, no attribute beyond that.
--
SELECT rolname, rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication,
	   rolbypassrls
FROM pg_roles WHERE rolname IN ('vigil_admin', 'vigil_reader') ORDER BY 1;

-- What each may do with vigil's tables and views (PUBLIC: nothing).
CREATE ROLE regress_vigil_nobody NOLOGIN;
SELECT c.relname, c.relkind,
	   array_to_string(ARRAY(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p
							 WHERE has_table_privilege('vigil_admin', c.oid, p)), ',') AS vigil_admin,
	   array_to_string(ARRAY(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p
							 WHERE has_table_privilege('vigil_reader', c.oid, p)), ',') AS vigil_reader,
	   array_to_string(ARRAY(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) p
							 WHERE has_table_privilege('regress_vigil_nobody', c.oid, p)), ',') AS public
FROM pg_class c
WHERE c.relnamespace = 'vigil'::regnamespace AND c.relkind IN ('r', 'v')
ORDER BY c.relname;
SELECT c.relname, has_sequence_privilege('vigil_admin', c.oid, 'USAGE') AS vigil_admin,
	   has_sequence_privilege('regress_vigil_nobody', c.oid, 'USAGE') AS public
FROM pg_class c WHERE c.relnamespace = 'vigil'::regnamespace AND c.relkind = 'S' ORDER BY 1;
SELECT has_schema_privilege('vigil_admin', 'vigil', 'USAGE') AS admin_usage,
	   has_schema_privilege('vigil_admin', 'vigil', 'CREATE') AS admin_create,
	   has_schema_privilege('regress_vigil_nobody', 'vigil', 'USAGE') AS public_usage;

-- Which functions PUBLIC may execute, and which only superusers and
-- vigil_admin (calling any of them also needs USAGE on the schema).
SELECT p.oid::regprocedure AS function,
	   has_function_privilege('regress_vigil_nobody', p.oid, 'EXECUTE') AS public,
	   has_function_privilege('vigil_admin', p.oid, 'EXECUTE') AS vigil_admin
FROM pg_proc p
	 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil')
ORDER BY p.oid::regprocedure::text;

--
-- SECURITY DEFINER functions pin search_path: none in the extension may
-- lack it.  (vigil.detect() is not one: it switches to its owner in C,
-- with only pg_catalog on the search path; see the inserter below.)
--
SELECT p.oid::regprocedure AS definer_without_search_path
FROM pg_proc p
	 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil')
  AND p.prosecdef
  AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
SELECT p.oid::regprocedure AS security_definer, p.proconfig
FROM pg_proc p
	 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil') AND p.prosecdef
ORDER BY 1::text;
-- SQL and PL/pgSQL functions that do not pin it schema-qualify every name
-- (table_name is inlined into the reporting views, which a SET would stop).
SELECT p.oid::regprocedure AS unpinned, l.lanname
FROM pg_proc p
	 JOIN pg_language l ON l.oid = p.prolang
	 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil')
  AND l.lanname IN ('sql', 'plpgsql')
  AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
ORDER BY 1::text;

--
-- vigil_admin: members watch and unwatch, change rules, requeue and run
-- maintenance; nobody else can (42501), not even a reader of the reports.
-- The watched table's own privileges still apply: watching creates a
-- trigger on it (TRIGGER), unwatching drops one (ownership).
--
CREATE ROLE regress_vigil_ops LOGIN IN ROLE vigil_admin;
CREATE ROLE regress_vigil_reporter LOGIN IN ROLE vigil_reader;
CREATE ROLE regress_vigil_other LOGIN;
GRANT CREATE ON SCHEMA public TO regress_vigil_ops;
SET ROLE regress_vigil_ops;
CREATE TABLE ops_txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
INSERT INTO ops_txn SELECT i, 'card-' || i % 3, 10 + i % 7, timestamptz '2026-11-01' + i * interval '1 hour'
FROM generate_series(1, 30) i;
RESET ROLE;
-- A dead alert to requeue.
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
						  explanation, status, attempts, last_error)
VALUES (0, 'ops_txn', '{"id": 1}', 'card-1', 10, '2026-11-01', 1, '{amount_limit}', '[]', 'dead', 10,
		'HTTP 403');

CREATE TABLE admin_actions (n int PRIMARY KEY, name text, stmt text);
GRANT SELECT ON admin_actions TO PUBLIC;
INSERT INTO admin_actions VALUES
	(1, 'watch', $$SELECT vigil.watch('ops_txn', 'card', 'amount', 'ts') > 0$$),
	(2, 'read the watches', $$SELECT count(*) FROM vigil.watch_columns$$),
	(3, 'change a rule', $$UPDATE vigil.rules SET params = '{"threshold": 4}' WHERE name = 'amount_zscore'$$),
	(4, 'add a rule', $$INSERT INTO vigil.rules (watch_id, name, kind, params) SELECT id, 'big', 'amount_limit', '{"limit": 500}' FROM vigil.watches$$),
	(5, 'remove a rule', $$DELETE FROM vigil.rules WHERE name = 'big'$$),
	(6, 'change the watch', $$UPDATE vigil.watches SET alert_threshold = 0.6$$),
	(7, 'rebuild', $$SELECT vigil.rebuild('ops_txn', NULL)$$),
	(8, 'rebuild all', $$SELECT * FROM vigil.rebuild_all()$$),
	(9, 'read profiles', $$SELECT count(*) FROM vigil.profiles$$),
	(10, 'read alerts', $$SELECT count(*) FROM vigil.alerts$$),
	(11, 'requeue', $$SELECT vigil.requeue()$$),
	(12, 'purge', $$SELECT vigil.purge_alerts()$$),
	(13, 'schedule maintenance', $$SELECT * FROM vigil.schedule_maintenance()$$),
	(14, 'unwatch', $$SELECT vigil.unwatch('ops_txn')$$);
SET ROLE regress_vigil_other;
SELECT name, try(stmt) AS regress_vigil_other FROM admin_actions ORDER BY n;
SET ROLE regress_vigil_reporter;
SELECT name, try(stmt) AS regress_vigil_reporter FROM admin_actions ORDER BY n;
SET ROLE regress_vigil_ops;
SELECT name, try(stmt) AS regress_vigil_ops FROM admin_actions ORDER BY n;
RESET ROLE;
SELECT status, attempts FROM vigil.alerts WHERE watch_id = 0;

-- What a member still cannot do: watch a table without the TRIGGER
-- privilege, unwatch one it does not own, forge alerts or profiles, or
-- touch a setting.
CREATE TABLE secret_txn (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
CREATE TABLE shared_txn (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
GRANT TRIGGER, SELECT ON shared_txn TO regress_vigil_ops;
SET ROLE regress_vigil_ops;
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('watch without TRIGGER', $$SELECT vigil.watch('secret_txn', 'card', 'amount', 'ts')$$),
	('watch with TRIGGER', $$SELECT vigil.watch('shared_txn', 'card', 'amount', 'ts') > 0$$),
	('unwatch without ownership', $$SELECT vigil.unwatch('shared_txn')$$),
	('insert an alert', $$INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired, explanation) VALUES (0, 'shared_txn', '{}', 'k', 1, now(), 1, '{}', '[]')$$),
	('write a profile', $$UPDATE vigil.profiles SET profile = NULL$$),
	('truncate alerts', $$TRUNCATE vigil.alerts$$),
	('fold a profile', $$SELECT vigil.fold_profile('k', NULL)$$),
	('a trigger on vigil.rules', $$CREATE TRIGGER t BEFORE INSERT ON vigil.rules FOR EACH ROW EXECUTE FUNCTION vigil.rules_validate()$$),
	('alter the extension''s table', $$ALTER TABLE vigil.rules DISABLE TRIGGER rules_validate$$),
	('read a secret', $$SHOW vigil.aws_secret_access_key$$)
) v(name, stmt);
\set VERBOSITY sqlstate
ALTER SYSTEM SET vigil.batch_size = 5;
\set VERBOSITY default
SELECT count(*) AS secret_txn_watches FROM vigil.watches WHERE relation = 'secret_txn'::regclass;
-- vigil.detect() attached by hand to another table with a watch's id
-- writes nothing to that watch.
CREATE TABLE ops_other (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT id AS shared_watch FROM vigil.watches WHERE relation = 'shared_txn'::regclass \gset
CREATE TRIGGER steal AFTER INSERT ON ops_other REFERENCING NEW TABLE AS n
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.detect(:'shared_watch');
INSERT INTO ops_other VALUES (1, 'card-x', 99, '2026-11-01');
SELECT count(*) AS shared_profiles FROM vigil.profiles WHERE watch_id = :shared_watch;
DROP TABLE ops_other;
RESET ROLE;
SELECT vigil.unwatch('shared_txn');
DROP TABLE secret_txn, shared_txn;

--
-- An application role with only INSERT on its table gets detection, and
-- reads nothing of vigil's: not profiles, rules, alerts or secrets.  Its
-- search path, full of look-alikes of vigil's tables and of pg_catalog's
-- operators, does not reach detection, which runs as the function's owner.
--
CREATE ROLE regress_vigil_app LOGIN;
CREATE TABLE app_txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz,
					  merchant text);
GRANT INSERT ON app_txn TO regress_vigil_app;
SELECT vigil.watch('app_txn', 'card', 'amount', 'ts', merchant_column => 'merchant') > 0 AS watched;
CREATE SCHEMA app_sneaky AUTHORIZATION regress_vigil_app;
SET ROLE regress_vigil_app;
CREATE TABLE app_sneaky.profiles (watch_id int, key text, profile text);
CREATE TABLE app_sneaky.alerts (x int);
CREATE FUNCTION app_sneaky.eq(int, int) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'sneaky = ran as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR app_sneaky.= (LEFTARG = int, RIGHTARG = int, FUNCTION = app_sneaky.eq);
CREATE FUNCTION app_sneaky.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
$$BEGIN RAISE NOTICE 'sneaky unnest ran as %', current_user; RETURN QUERY SELECT pg_catalog.unnest($1); END$$;
SET search_path = app_sneaky, pg_catalog;
INSERT INTO public.app_txn SELECT i, 'card-1', 40 + i % 5, timestamptz '2026-11-01' + i * interval '1 day', 'grocer'
FROM generate_series(1, 20) i;
INSERT INTO public.app_txn VALUES (100, 'card-1', 4000, '2026-11-22', 'jeweller'),
								  (101, NULL, 10, '2026-11-22', 'grocer');
RESET search_path;
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('read its rows', $$SELECT count(*) FROM app_txn$$),
	('profiles', $$SELECT count(*) FROM vigil.profiles$$),
	('profile_summary', $$SELECT count(*) FROM vigil.profile_summary$$),
	('rules', $$SELECT count(*) FROM vigil.rules$$),
	('alerts', $$SELECT count(*) FROM vigil.alerts$$),
	('alert_feed', $$SELECT count(*) FROM vigil.alert_feed$$),
	('skipped', $$SELECT count(*) FROM vigil.skipped$$),
	('watches', $$SELECT count(*) FROM vigil.watches$$),
	('change a rule', $$UPDATE vigil.rules SET enabled = false$$),
	('unwatch', $$SELECT vigil.unwatch('app_txn')$$),
	('replay', $$SELECT count(*) FROM vigil.replay('app_txn')$$),
	('show a secret', $$SHOW vigil.aws_secret_access_key$$),
	('current_setting of a secret', $$SELECT current_setting('vigil.aws_access_key_id')$$)
) v(name, stmt);
SELECT count(*) AS secrets_in_pg_settings FROM pg_settings
WHERE name IN ('vigil.aws_access_key_id', 'vigil.aws_secret_access_key', 'vigil.aws_session_token');
RESET ROLE;
-- What detection wrote, seen by a superuser; the look-alikes stayed empty.
SELECT key, vigil.profile_json(profile) ->> 'n' AS n
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id WHERE w.relation = 'app_txn'::regclass;
SELECT row_ref, key, amount, fired FROM vigil.alerts WHERE relation = 'app_txn'::regclass;
SELECT row_ref, reason FROM vigil.skipped WHERE relation = 'app_txn'::regclass;
SELECT (SELECT count(*) FROM app_sneaky.profiles) AS sneaky_profiles,
	   (SELECT count(*) FROM app_sneaky.alerts) AS sneaky_alerts;

-- A table's owner drops its columns and tables with no privilege on vigil:
-- the event trigger that forgets watches runs as its owner.  (Before, any
-- DROP of a table or column by such a role failed with 42501.)
GRANT CREATE ON SCHEMA public TO regress_vigil_app;
ALTER TABLE app_txn OWNER TO regress_vigil_app;
SET ROLE regress_vigil_app;
CREATE TABLE app_scratch (id int);
DROP TABLE app_scratch;
ALTER TABLE app_txn DROP COLUMN merchant;
RESET ROLE;
SELECT merchant_column IS NULL AS merchant_forgotten FROM vigil.watch_columns
WHERE relation = 'app_txn'::regclass;
SET ROLE regress_vigil_app;
DROP TABLE app_txn;
RESET ROLE;
SELECT count(*) AS watches_left FROM vigil.watches;

--
-- Hostile names: schemas, tables and columns with quotes, spaces,
-- semicolons, comment marks and unicode are watched, scored, replayed,
-- rebuilt, renamed and unwatched by a vigil_admin member, and never run as
-- SQL: the table next to them survives.
--
CREATE TABLE victim (id int);
CREATE SCHEMA "Ops ""Schema""; DROP TABLE victim; --" AUTHORIZATION regress_vigil_ops;
SET ROLE regress_vigil_ops;
CREATE TABLE "Ops ""Schema""; DROP TABLE victim; --"."Tx'n; DROP TABLE victim; -- 💳" (
	"I""d" int PRIMARY KEY,
	"Card Nr; DROP TABLE victim;" text,
	"Amount $1 %s" numeric,
	"Zeit (UTC)" timestamptz,
	"lat'" float8,
	"\lon" float8,
	"Händler" text,
	"E'x'" text);
SELECT vigil.watch('"Ops ""Schema""; DROP TABLE victim; --"."Tx''n; DROP TABLE victim; -- 💳"',
				   'Card Nr; DROP TABLE victim;', 'Amount $1 %s', 'Zeit (UTC)', 'lat''', '\lon',
				   'Händler', 'E''x''') AS hostile_watch \gset
SELECT relation, key_column, amount_column, time_column, lat_column, lon_column, merchant_column,
	   category_column
FROM vigil.watch_columns WHERE watch_id = :hostile_watch;
SELECT tgname, tgrelid::regclass FROM pg_trigger WHERE tgname = 'vigil_detect';
INSERT INTO "Ops ""Schema""; DROP TABLE victim; --"."Tx'n; DROP TABLE victim; -- 💳"
SELECT i, 'card"1''', 40 + i % 5, timestamptz '2026-11-01' + i * interval '1 day', 51.5, -0.12, 'grocer', 'food'
FROM generate_series(1, 20) i;
INSERT INTO "Ops ""Schema""; DROP TABLE victim; --"."Tx'n; DROP TABLE victim; -- 💳"
VALUES (21, 'card"1''', 4000, '2026-11-22', 40.7, -74.0, 'jeweller', 'luxury');
SELECT row_ref, key, fired FROM vigil.alerts WHERE watch_id = :hostile_watch;
SELECT count(*) AS replayed, count(*) FILTER (WHERE score >= 0.5) AS would_alert
FROM vigil.replay('"Ops ""Schema""; DROP TABLE victim; --"."Tx''n; DROP TABLE victim; -- 💳"');
SELECT vigil.rebuild('"Ops ""Schema""; DROP TABLE victim; --"."Tx''n; DROP TABLE victim; -- 💳"', NULL) AS rebuilt;
ALTER TABLE "Ops ""Schema""; DROP TABLE victim; --"."Tx'n; DROP TABLE victim; -- 💳"
	RENAME COLUMN "Card Nr; DROP TABLE victim;" TO "); DROP TABLE victim; --";
SELECT key_column FROM vigil.watch_columns WHERE watch_id = :hostile_watch;
SELECT count(*) AS replayed_after_rename
FROM vigil.replay('"Ops ""Schema""; DROP TABLE victim; --"."Tx''n; DROP TABLE victim; -- 💳"');
SELECT table_name, rules FROM vigil.alert_feed WHERE watch_id = :hostile_watch;
SELECT vigil.unwatch('"Ops ""Schema""; DROP TABLE victim; --"."Tx''n; DROP TABLE victim; -- 💳"');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname = 'vigil_detect';
RESET ROLE;
SELECT to_regclass('victim') IS NOT NULL AS victim_survives;

--
-- AWS secrets: superuser-only, out of SHOW ALL and pg_settings for
-- everyone, masked from the roles that may read superuser-only settings
-- (pg_read_all_settings, part of pg_monitor), and impossible to set per
-- role or database (so pg_db_role_setting never holds one).
--
CREATE TABLE secrets (name text PRIMARY KEY);
INSERT INTO secrets VALUES ('vigil.aws_access_key_id'), ('vigil.aws_secret_access_key'),
						   ('vigil.aws_session_token');
GRANT SELECT ON secrets TO PUBLIC;
SELECT name, pg_settings_get_flags(name) AS flags FROM secrets ORDER BY 1;
ALTER SYSTEM SET vigil.aws_access_key_id = 'AKIAREGRESSIONTEST01';
ALTER SYSTEM SET vigil.aws_secret_access_key = 'regression/secret+key';
SELECT pg_reload_conf();
SELECT pg_sleep(1);
-- A superuser sees them with SHOW, nowhere else.
SHOW vigil.aws_access_key_id;
SELECT current_setting('vigil.aws_secret_access_key') AS secret;
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name IN (SELECT name FROM secrets);
SELECT count(*) AS in_show_all FROM pg_show_all_settings() WHERE name IN (SELECT name FROM secrets);
CREATE ROLE regress_vigil_monitor LOGIN IN ROLE pg_monitor;
CREATE TABLE secret_checks (n int PRIMARY KEY, name text, stmt text);
GRANT SELECT ON secret_checks TO PUBLIC;
INSERT INTO secret_checks VALUES
	(1, 'SHOW', $$SHOW vigil.aws_secret_access_key$$),
	(2, 'current_setting', $$SELECT current_setting('vigil.aws_access_key_id')$$),
	(3, 'current_setting, missing_ok', $$SELECT current_setting('vigil.aws_session_token', true)$$),
	(4, 'pg_file_settings', $$SELECT count(*) FROM pg_file_settings$$),
	(5, 'SET', $$SET vigil.aws_secret_access_key = 'mine'$$),
	(6, 'set_config', $$SELECT set_config('vigil.aws_secret_access_key', 'mine', false)$$);
SET ROLE regress_vigil_other;
SELECT name, try(stmt) AS regress_vigil_other FROM secret_checks ORDER BY n;
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name IN (SELECT name FROM secrets);
\set VERBOSITY sqlstate
ALTER SYSTEM SET vigil.aws_secret_access_key = 'mine';
\set VERBOSITY default
SET ROLE regress_vigil_ops;
SELECT name, try(stmt) AS regress_vigil_ops FROM secret_checks ORDER BY n;
\set VERBOSITY sqlstate
ALTER SYSTEM SET vigil.aws_secret_access_key = 'mine';
\set VERBOSITY default
SET ROLE regress_vigil_monitor;
SELECT name, try(stmt) AS regress_vigil_monitor FROM secret_checks ORDER BY n;
SHOW vigil.aws_secret_access_key;
SELECT current_setting('vigil.aws_access_key_id') AS key_id,
	   current_setting('vigil.aws_session_token') AS unset_token;
SELECT count(*) AS in_pg_settings FROM pg_settings WHERE name IN (SELECT name FROM secrets);
SELECT count(*) AS in_show_all FROM pg_show_all_settings() WHERE name IN (SELECT name FROM secrets);
\set VERBOSITY sqlstate
ALTER SYSTEM SET vigil.aws_secret_access_key = 'mine';
\set VERBOSITY default
RESET ROLE;
SELECT try($$ALTER ROLE regress_vigil_other SET vigil.aws_secret_access_key = 'x'$$) AS per_role,
	   try(format('ALTER DATABASE %I SET vigil.aws_secret_access_key = %L', current_database(), 'x'))
		   AS per_database;
SELECT count(*) AS in_pg_db_role_setting
FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'vigil.aws%';
ALTER SYSTEM RESET vigil.aws_access_key_id;
ALTER SYSTEM RESET vigil.aws_secret_access_key;
SELECT pg_reload_conf();

--
-- DROP EXTENSION leaves both roles (they belong to the cluster); CREATE
-- EXTENSION finds them and grants again.
--
DROP TABLE admin_actions, secret_checks, secrets, ops_txn, victim;
DROP SCHEMA app_sneaky CASCADE;
DROP SCHEMA "Ops ""Schema""; DROP TABLE victim; --" CASCADE;
DROP EXTENSION vigil;
SELECT rolname FROM pg_roles WHERE rolname IN ('vigil_admin', 'vigil_reader') ORDER BY 1;
CREATE EXTENSION vigil;
SELECT has_function_privilege('vigil_admin', 'vigil.watch(regclass, name, name, name, name, name, name, name, float8, name, text)',
							  'EXECUTE') AS admin_can_watch;
DROP EXTENSION vigil;
DROP FUNCTION try(text);
REVOKE CREATE ON SCHEMA public FROM regress_vigil_ops, regress_vigil_app;
DROP ROLE regress_vigil_nobody, regress_vigil_ops, regress_vigil_reporter, regress_vigil_other,
	regress_vigil_app, regress_vigil_monitor;
