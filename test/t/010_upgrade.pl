# Upgrading from the released 0.1: a database created with 0.1, with
# watched rows, profiles, custom rules, skipped rows, pending alerts and
# pg_cron jobs, first keeps working under the new library before it is
# updated (detection, replay, verify, delivery), then ALTER EXTENSION vigil
# UPDATE gives it exactly the objects a fresh CREATE EXTENSION gives (read
# from the catalogs: pg_dump leaves extension members out), keeps every row,
# and its pending alerts are delivered afterwards.
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VigilAws;

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my ($akid, $secret) = ('AKIDVIGILTEST', 'vigil/test+secret=key');
my $state = tempdir(CLEANUP => 1);
my $url = start_endpoint($state, '--topic', $topic, '--access-key', $akid, '--secret-key', $secret);

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'vigil.max_attempts = 1000000')
	  . "shared_preload_libraries = 'vigil,pg_cron'\n"
	  . "cron.database_name = 'postgres'\n"
	  . "cron.host = '" . $node->host . "'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# Every object of the extension as the catalogs describe it, one line each,
# with nothing that differs between two databases (OIDs, sequence values).
my $describe = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'vigil'),
members AS (
	SELECT d.classid, d.objid FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
funcs AS (
	SELECT p.* FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid),
rels AS (
	SELECT c.* FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid),
lines(line) AS (
	SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
	UNION ALL
	SELECT concat_ws(' | ', 'extension', e.extversion, e.extrelocatable, n.nspname,
					 (SELECT array_agg(x::regclass::text ORDER BY x::regclass::text) FROM unnest(e.extconfig) x),
					 e.extcondition)
	FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vigil'
	UNION ALL
	SELECT concat_ws(' | ', 'schema', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl,
					 obj_description(n.oid, 'pg_namespace'))
	FROM pg_namespace n WHERE n.nspname = 'vigil'
	UNION ALL
	SELECT concat_ws(' | ', 'function', p.oid::regprocedure, p.prokind, pg_get_function_arguments(p.oid),
					 pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proparallel, p.proisstrict,
					 p.prosecdef, p.proleakproof, p.procost, p.prorows, p.proretset, p.proconfig,
					 p.prosupport, p.probin, md5(p.prosrc), pg_get_userbyid(p.proowner), p.proacl,
					 obj_description(p.oid, 'pg_proc'))
	FROM funcs p JOIN pg_language l ON l.oid = p.prolang
	UNION ALL
	SELECT concat_ws(' | ', 'aggregate', a.aggfnoid::regprocedure, a.aggkind, a.aggtransfn, a.aggfinalfn,
					 a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn,
					 a.aggmfinalfn, a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggsortop,
					 a.aggtranstype::regtype, a.aggmtranstype, a.agginitval, a.aggminitval)
	FROM pg_aggregate a JOIN funcs p ON p.oid = a.aggfnoid
	UNION ALL
	SELECT concat_ws(' | ', 'type', t.oid::regtype, t.typtype, t.typlen, t.typbyval, t.typalign,
					 t.typstorage, t.typcategory, t.typinput, t.typoutput, t.typreceive, t.typsend,
					 t.typmodin, t.typmodout, t.typanalyze, t.typelem::regtype, t.typnotnull,
					 t.typbasetype::regtype, pg_get_userbyid(t.typowner), t.typacl,
					 obj_description(t.oid, 'pg_type'))
	FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
	UNION ALL
	SELECT concat_ws(' | ', 'cast', c.castsource::regtype, c.casttarget::regtype,
					 c.castfunc::regprocedure, c.castcontext, c.castmethod)
	FROM pg_cast c JOIN members m ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
	UNION ALL
	SELECT concat_ws(' | ', 'relation', c.oid::regclass, c.relkind, c.relpersistence, c.relrowsecurity,
					 c.relforcerowsecurity, c.reloptions, pg_get_userbyid(c.relowner), c.relacl,
					 obj_description(c.oid, 'pg_class'))
	FROM rels c
	UNION ALL
	SELECT concat_ws(' | ', 'column', a.attrelid::regclass,
					 row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), a.attname,
					 format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
					 pg_get_expr(d.adbin, d.adrelid), co.collname, a.attacl, col_description(a.attrelid, a.attnum))
	FROM pg_attribute a JOIN rels c ON c.oid = a.attrelid
		 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		 LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
	WHERE a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT concat_ws(' | ', 'constraint', r.conrelid::regclass, r.conname, pg_get_constraintdef(r.oid))
	FROM pg_constraint r JOIN rels c ON c.oid = r.conrelid
	UNION ALL
	SELECT concat_ws(' | ', 'index', pg_get_indexdef(i.indexrelid))
	FROM pg_index i JOIN rels c ON c.oid = i.indrelid
	UNION ALL
	SELECT concat_ws(' | ', 'view', c.oid::regclass, pg_get_viewdef(c.oid))
	FROM rels c WHERE c.relkind IN ('v', 'm')
	UNION ALL
	SELECT concat_ws(' | ', 'sequence', s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart,
					 s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
	FROM pg_sequence s JOIN rels c ON c.oid = s.seqrelid
	UNION ALL
	SELECT concat_ws(' | ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
	FROM pg_trigger t JOIN rels c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
	UNION ALL
	SELECT concat_ws(' | ', 'policy', p.polrelid::regclass, p.polname, p.polcmd, p.polpermissive,
					 p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
	FROM pg_policy p JOIN rels c ON c.oid = p.polrelid
	UNION ALL
	SELECT concat_ws(' | ', 'event trigger', e.evtname, e.evtevent, e.evtfoid::regprocedure, e.evtenabled,
					 e.evttags, pg_get_userbyid(e.evtowner))
	FROM pg_event_trigger e JOIN members m ON m.classid = 'pg_event_trigger'::regclass AND m.objid = e.oid
	UNION ALL
	SELECT concat_ws(' | ', 'initial privileges', pg_describe_object(i.classoid, i.objoid, i.objsubid),
					 i.privtype, i.initprivs)
	FROM pg_init_privs i JOIN members m ON m.classid = i.classoid AND m.objid = i.objoid)
SELECT line FROM lines ORDER BY line COLLATE "C"};

# The rows of vigil's tables that an upgrade must keep, as text.
my $rows = q{
SELECT line FROM (
SELECT concat_ws(' ', 'watch', w.id, w.relation, w.key_attnum, w.amount_attnum, w.time_attnum,
				 w.lat_attnum, w.lon_attnum, w.merchant_attnum, w.category_attnum,
				 w.alert_threshold, w.created_at, w.sns_topic_arn)
		  FROM vigil.watches w
UNION ALL SELECT 'rule ' || r::text FROM vigil.rules r
UNION ALL SELECT 'profile ' || p::text FROM vigil.profiles p
UNION ALL SELECT 'skipped ' || s::text FROM vigil.skipped s
UNION ALL SELECT concat_ws(' ', 'alert', a.id, a.watch_id, a.relation, a.row_ref, a.key, a.amount,
						   a.event_time, a.score, a.fired, a.explanation, a.created_at)
		  FROM vigil.alerts a
UNION ALL SELECT concat_ws(' ', 'job', j.jobname, j.schedule, j.command, j.database, j.username)
		  FROM cron.job j) x(line)
ORDER BY line COLLATE "C"};

# Version 0.1, as released, with the jobs it schedules and a watched table
# whose rows exercise every input: locations, merchants, skipped rows.
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	CREATE EXTENSION vigil VERSION '0.1';
	SELECT vigil.schedule_maintenance('0 6 31 2 *', '30 5 31 2 *');	-- never due
	CREATE TABLE txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz,
					  lat float8, lon float8, merchant text);
	SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant');
	UPDATE vigil.rules SET enabled = true, params = '{"limit": 1000}' WHERE name = 'amount_limit';
	UPDATE vigil.rules SET weight = 0.5 WHERE name = 'new_merchant';
	INSERT INTO txn SELECT i, 'card-' || i % 20, 10 + i % 13, timestamptz '2026-01-01' + i * interval '1 hour',
						   48.85 + i % 3, 2.35, 'm' || i % 5
	FROM generate_series(1, 400) i;
	INSERT INTO txn VALUES (401, NULL, 10, '2026-02-01', NULL, NULL, NULL),
						   (402, 'card-1', 'NaN', '2026-02-01', NULL, NULL, NULL);
});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vigil'}),
	'0.1', 'installed as 0.1');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vigil.profiles'), '20', 'profiles of 0.1');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vigil.skipped'), '2', 'skipped rows of 0.1');

# The new library on the 0.1 schema, before the update: detection,
# delivery, replay and verify work.
$node->safe_psql('postgres',
	q{INSERT INTO txn VALUES (403, 'card-3', 5000, '2026-02-02', 48.85, 2.35, 'm1')});
wait_for_value($node, 'postgres', q{SELECT count(*) FILTER (WHERE status <> 'sent') || ' ' || count(*) FILTER (WHERE key = 'card-3' AND amount = 5000)
		   FROM vigil.alerts}, '0 1',
	'0.1 schema: the alert is raised and delivered');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM vigil.replay('txn') r, vigil.watches w
		WHERE w.relation = 'txn'::regclass AND r.score >= w.alert_threshold}),
	$node->safe_psql('postgres', 'SELECT count(*) FROM vigil.alerts'),
	'0.1 schema: replay scores the rows as detection did');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vigil.verify('txn')}), '0',
	'0.1 schema: verify finds the profiles right');

# Alerts pending while SNS fails (retried, never dead: vigil.max_attempts is
# far beyond what the test's seconds allow), then the update.
control($url, 'POST', '/_control', { fail_rate => 1.0, fail_status => 500, fail_code => 'InternalError' });
$node->safe_psql('postgres',
	q{INSERT INTO txn SELECT 403 + i, 'card-' || i, 5000 + i, timestamptz '2026-02-03' + i * interval '1 s',
							 NULL, NULL, 'm1' FROM generate_series(1, 5) i});
is($node->safe_psql('postgres', q{SELECT count(*) FROM vigil.alerts WHERE status <> 'sent'}), '5',
	'five alerts wait while SNS fails');
my $before = $node->safe_psql('postgres', $rows);
my (undef, undef, $notices) = $node->psql('postgres', 'ALTER EXTENSION vigil UPDATE');
like($notices, qr/WARNING:  vigil: a pg_cron job still calls vigil.rebuild_all/,
	'the update says the 0.1 job still calls rebuild_all');
like($notices, qr/HINT:  Run SELECT \* FROM vigil.schedule_maintenance\(\)/, 'and how to change that');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'vigil'}),
	'0.2', 'updated to 0.2');
is($node->safe_psql('postgres', $rows), $before,
	'every watch, rule, profile, skipped row, alert and job is kept');
cmp_ok(scalar(split /\n/, $before), '>', 30, 'and there were rows to keep');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT on_error, ',') FROM vigil.watches}),
	'raise', 'watches keep 0.1\'s behaviour on errors (on_error = raise)');

# The updated database has the objects of a fresh install, no more, no less.
$node->safe_psql('fresh', 'CREATE EXTENSION vigil');
my @updated = split /\n/, $node->safe_psql('postgres', $describe);
my @fresh = split /\n/, $node->safe_psql('fresh', $describe);
my %in_fresh = map { $_ => 1 } @fresh;
my %in_updated = map { $_ => 1 } @updated;
cmp_ok(scalar(@fresh), '>', 300, 'the catalogs describe the extension');
ok((grep { /^function \| vigil\.rebuild_all\(interval\) \| / } @fresh), 'functions are described');
ok((grep { /^column \| vigil\.alerts \| / } @fresh), 'columns are described');
is(join("\n", grep { !$in_fresh{$_} } @updated), '', 'the updated database has nothing a fresh one lacks');
is(join("\n", grep { !$in_updated{$_} } @fresh), '', 'and lacks nothing a fresh one has');

# After the update: the waiting alerts are delivered, detection goes on, and
# the profiles are still what the rows give.
control($url, 'POST', '/_control', { reset => JSON::PP::true });
wait_for_value($node, 'postgres', q{SELECT count(*) FROM vigil.alerts WHERE status <> 'sent'}, '0',
	'the alerts that waited are delivered after the update');
$node->safe_psql('postgres',
	q{INSERT INTO txn VALUES (500, 'card-7', 20, '2026-02-04', 48.85, 2.35, 'm2')});
is($node->safe_psql('postgres', q{SELECT vigil.profile_json(profile) ->> 'n' FROM vigil.profiles WHERE key = 'card-7'}),
	'21', 'detection folds new rows into the profiles 0.1 wrote');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vigil.verify('txn')}), '0',
	'verify finds the profiles right after the update');

# 0.1 took direct writes to vigil.watches that 0.2's constraints refuse: the
# update mends them instead of failing (a lone coordinate is dropped, a
# watch without a valid key column is forgotten).
$node->safe_psql('postgres', 'CREATE DATABASE broken');
$node->safe_psql('broken', q{
	CREATE EXTENSION vigil VERSION '0.1';
	CREATE TABLE lone (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, lat float8);
	CREATE TABLE keyless (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
	SELECT vigil.watch('lone', 'card', 'amount', 'ts'), vigil.watch('keyless', 'card', 'amount', 'ts');
	UPDATE vigil.watches SET lat_attnum = 5 WHERE relation = 'lone'::regclass;
	UPDATE vigil.watches SET key_attnum = 0 WHERE relation = 'keyless'::regclass;
});
(undef, undef, $notices) = $node->psql('broken', 'ALTER EXTENSION vigil UPDATE');
like($notices, qr/WARNING:  vigil: the watch on (public\.)?keyless had no valid key, amount or time column: forgotten/,
	'a watch without a key column is forgotten, saying so');
is( $node->safe_psql('broken', q{
		SELECT extversion || ' ' || (SELECT string_agg(relation || ' ' || coalesce(lat_attnum::text, '-'), ', ')
									FROM vigil.watches) || ' '
			   || (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'keyless'::regclass)
		FROM pg_extension WHERE extname = 'vigil'}),
	'0.2 lone - 0', 'the update went through: the lone latitude dropped, the keyless watch and its trigger gone');

# The reporting views whose amount became numeric are made again by the
# update: privileges granted on them survive it.
$node->safe_psql('postgres', 'CREATE DATABASE granted');
$node->safe_psql('granted', q{
	CREATE EXTENSION vigil VERSION '0.1';
	CREATE ROLE regress_vigil_dashboard;
	GRANT SELECT ON vigil.alert_feed TO regress_vigil_dashboard WITH GRANT OPTION;
	GRANT SELECT ON vigil.rule_hits_daily TO PUBLIC;
	ALTER EXTENSION vigil UPDATE;
});
is( $node->safe_psql('granted', q{
		SELECT string_agg(c.relname || ' ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END
						  || ' ' || a.privilege_type
						  || CASE WHEN a.is_grantable THEN ' grantable' ELSE '' END, ', '
						  ORDER BY c.relname, pg_get_userbyid(a.grantee))
		FROM pg_class c, aclexplode(c.relacl) a
		WHERE c.relnamespace = 'vigil'::regnamespace
		  AND c.relname IN ('alert_feed', 'alerts_by_hour', 'rule_hits_daily') AND a.grantee <> c.relowner}),
	'alert_feed regress_vigil_dashboard SELECT grantable, alert_feed vigil_admin SELECT, '
	  . 'alert_feed vigil_reader SELECT, alerts_by_hour vigil_admin SELECT, alerts_by_hour vigil_reader SELECT, '
	  . 'rule_hits_daily PUBLIC SELECT, rule_hits_daily vigil_admin SELECT, rule_hits_daily vigil_reader SELECT',
	'privileges granted on the remade views survive the update');
is($node->safe_psql('granted', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'vigil.alert_feed'::regclass AND attname = 'amount'}), 'numeric', 'amounts are numeric');
$node->safe_psql('granted', 'DROP EXTENSION vigil; DROP ROLE regress_vigil_dashboard');

$node->stop;
done_testing();
