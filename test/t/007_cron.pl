# Maintenance with a real pg_cron: vigil.schedule_maintenance registers two
# named jobs in the current database and updates them in place when called
# again; scheduled every minute they really run (profiles rebuilt from all
# rows, so vigil.verify is clean after them; old sent alerts purged); the commands of
# vigil.maintenance_jobs() scheduled from the pg_cron database work for
# another database, and do nothing where vigil was dropped;
# unschedule_maintenance removes the jobs; without pg_cron in the database the
# error says how to enable it; DROP EXTENSION vigil leaves the jobs (harmless)
# and the role vigil_reader; a login role in vigil_reader reads the views only.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->start;
$node->safe_psql('postgres', "CREATE DATABASE $_") for qw(shop branch closed);

# pg_cron keeps its jobs in shop, and runs them through the server's socket
# (the test cluster does not listen on TCP).
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vigil,pg_cron'\n"
	  . "cron.database_name = 'shop'\n"
	  . "cron.host = '" . $node->host . "'\n");
$node->restart;

# The error of a statement, with its SQLSTATE, detail and hint.
sub error_of
{
	my ($db, $sql) = @_;
	my ($ret, $out, $err) =
	  $node->psql($db, $sql, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return $ret == 0 ? '' : $err;
}

# Without pg_cron in the database: a clear error, saying how to enable it.
$node->safe_psql($_, 'CREATE EXTENSION vigil') for qw(shop branch closed);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_roles WHERE rolname = 'vigil_reader'"),
	'1', 'vigil_reader was created once, for three databases');
my $err = error_of('shop', 'SELECT vigil.schedule_maintenance()');
like($err, qr/ERROR:  55000: pg_cron is not available in database "shop"/,
	'no pg_cron extension yet: object_not_in_prerequisite_state');
like($err, qr/HINT:  Run CREATE EXTENSION pg_cron in this database\./, 'the hint says what to run');
$err = error_of('branch', 'SELECT vigil.unschedule_maintenance()');
like($err, qr/DETAIL:  pg_cron keeps its jobs in database "shop" \(cron.database_name\)/,
	'another database: the detail names the pg_cron database');
like($err, qr/HINT:  Set cron.database_name = 'branch' in postgresql.conf.*cron.schedule_in_database\(job_name, schedule, command, 'branch'\)/,
	'and the hint gives both ways');

$node->safe_psql('shop', 'CREATE EXTENSION pg_cron');

# Two named jobs in this database; calling again updates them in place.
my $jobs = q{SELECT string_agg(concat_ws(' ', jobid, jobname, schedule, database, active), ', '
						  ORDER BY jobname) FROM cron.job};
my $first = $node->safe_psql('shop', 'SELECT jobid, job_name FROM vigil.schedule_maintenance()');
my $listed = $node->safe_psql('shop', $jobs);
is($listed, '2 vigil-purge-shop 30 5 * * * shop t, 1 vigil-rebuild-shop 0 6 * * * shop t',
	'schedule_maintenance registers two jobs with the default schedules');
is($node->safe_psql('shop', 'SELECT jobid, job_name FROM vigil.schedule_maintenance()'),
	$first, 'calling it again returns the same jobs');
is($node->safe_psql('shop', $jobs), $listed, 'and does not duplicate them');
$node->safe_psql('shop',
	"SELECT vigil.schedule_maintenance('15 3 * * *', '45 2 * * 0', '14 days', '1 year')");
is( $node->safe_psql('shop', $jobs),
	'2 vigil-purge-shop 45 2 * * 0 shop t, 1 vigil-rebuild-shop 15 3 * * * shop t',
	'new schedules update the jobs in place');
like( $node->safe_psql('shop', "SELECT string_agg(command, ' ' ORDER BY jobid) FROM cron.job"),
	qr/vigil\.rebuild_each\('14 days'\).*vigil\.purge_alerts\('1 year'\)/,
	'with the new history and retention');

$err = error_of('shop', "SELECT vigil.schedule_maintenance('61 * * * *')");
like($err, qr/ERROR:  22023: invalid rebuild_schedule "61 \* \* \* \*"/,
	'an invalid schedule is invalid_parameter_value, naming the argument');
like($err, qr/DETAIL:  pg_cron says: invalid schedule: 61/, 'with what pg_cron said');
$err = error_of('shop', "SELECT vigil.schedule_maintenance(keep => '-1 day')");
like($err, qr/ERROR:  22023: keep must not be negative/, 'a negative retention is refused');
like($node->safe_psql('shop', $jobs), qr/45 2 \* \* 0 .* 15 3 \* \* \*/,
	'failed calls leave the jobs as they were');

# Data for the jobs: 40 daily transactions for a card (the live profile has
# them all), then one 50 days old arriving late (folded last, so the live
# profile differs from the rows in time order until a rebuild), and alerts:
# sent 100 days ago, sent yesterday, pending for 200 days.
my $alerts = q{
	INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
							  explanation, created_at, status, last_attempt_at, delivered_at)
	SELECT 1, 'txn'::regclass, jsonb_build_object('id', a.id), 'card-1', 1, now(), 0.9,
		   '{amount_limit}', '[]', now() - a.age, a.status, now() - a.age, now() - a.delivered
	FROM (VALUES ('old-sent', interval '100 days', 'sent', interval '100 days'),
				 ('new-sent', '1 day', 'sent', '1 day'),
				 ('old-pending', '200 days', 'pending', NULL)) a(id, age, status, delivered)};
my $setup = q{
	CREATE TABLE txn (id bigint PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
	SELECT vigil.watch('txn', 'card', 'amount', 'ts');
	UPDATE vigil.rules SET enabled = false;
	INSERT INTO txn SELECT i, 'card-1', 10 + i, now() - i * interval '1 day'
	FROM generate_series(1, 40) i;
	INSERT INTO txn VALUES (41, 'card-1', 5, now() - interval '50 days');
} . $alerts;
$node->safe_psql($_, $setup) for qw(shop branch);
my $n = q{SELECT vigil.profile_json(profile) ->> 'n' FROM vigil.profiles WHERE key = 'card-1'};
my $kept = q{SELECT string_agg(row_ref ->> 'id', ' ' ORDER BY row_ref ->> 'id') FROM vigil.alerts};
my $verify = q{SELECT string_agg(key || ' ' || status, ', ') FROM vigil.verify('txn')};
is($node->safe_psql('shop', $n), '41', 'the live profile has every transaction');
is($node->safe_psql('shop', $verify), 'card-1 differs', 'verify sees the late row folded last');

# Another database's jobs, scheduled from the pg_cron database with the
# commands vigil.maintenance_jobs() gives there; and those of a database
# where vigil has been dropped since.
my $every_minute = q{SELECT job_name, schedule, command FROM vigil.maintenance_jobs('* * * * *', '* * * * *')};
for my $db (qw(branch closed))
{
	my @rows = split /\n/, $node->safe_psql($db, $every_minute);
	for (@rows)
	{
		my ($name, $schedule, $command) = split /\|/;
		$command =~ s/'/''/g;
		$node->safe_psql('shop',
			"SELECT cron.schedule_in_database('$name', '$schedule', '$command', '$db')");
	}
}
$node->safe_psql('closed', 'DROP EXTENSION vigil');

# Every minute, for real: wait for a succeeded run of each job.
$node->safe_psql('shop', "SELECT vigil.schedule_maintenance('* * * * *', '* * * * *')");
like( $node->safe_psql('shop', q{SELECT command FROM cron.job WHERE jobname = 'vigil-rebuild-shop'}),
	qr/CALL vigil\.rebuild_each\(\); END IF;/,
	'by default the rebuild job reads all rows, a table at a time');
my $t0 = time();
my $done = q{
	SELECT count(*) FILTER (WHERE EXISTS (SELECT FROM cron.job_run_details d
										  WHERE d.jobid = j.jobid AND d.status = 'succeeded'))
		   || ' ' || count(*)
	FROM cron.job j};
my $failed = q{
	SELECT string_agg(j.jobname || ': ' || d.return_message, '; ')
	FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE d.status = 'failed'};
my $state;
while (time() - $t0 < 150)
{
	$state = $node->safe_psql('shop', $done);
	last if $state eq '6 6' || $node->safe_psql('shop', $failed) ne '';
	usleep(500_000);
}
is($state, '6 6', 'every job ran and succeeded (within 150 s)');
is($node->safe_psql('shop', $failed), '', 'no run failed');
diag(sprintf('the jobs ran after %.0f s', time() - $t0));

is($node->safe_psql('shop', $n), '41', 'shop: the profile was rebuilt from all rows');
is($node->safe_psql('shop', $verify), '', 'shop: verify is clean after the jobs ran');
is($node->safe_psql('shop', $kept), 'new-sent old-pending',
	'shop: the alert sent 100 days ago was purged, the recent and the pending ones kept');
is($node->safe_psql('branch', $n), '41', 'branch, from the pg_cron database: rebuilt');
is($node->safe_psql('branch', $verify), '', 'branch: verify is clean after the jobs ran');
is($node->safe_psql('branch', $kept), 'new-sent old-pending', 'branch: purged');
is( $node->safe_psql(
		'shop', q{SELECT string_agg(DISTINCT d.return_message, ' ') FROM cron.job_run_details d
				  JOIN cron.job j USING (jobid) WHERE j.database = 'closed'}),
	'DO',
	'closed, where vigil was dropped: the jobs succeed doing nothing');

# unschedule_maintenance removes this database's jobs only.
is($node->safe_psql('shop', 'SELECT vigil.unschedule_maintenance()'), '2', 'unschedule_maintenance');
is( $node->safe_psql('shop', q{SELECT string_agg(jobname, ' ' ORDER BY jobname) FROM cron.job}),
	'vigil-purge-branch vigil-purge-closed vigil-rebuild-branch vigil-rebuild-closed',
	'the other databases\' jobs stay');
is($node->safe_psql('shop', 'SELECT vigil.unschedule_maintenance()'), '0', 'again: nothing left');
$node->safe_psql('shop', "SELECT cron.unschedule(jobid) FROM cron.job");

# DROP EXTENSION vigil leaves the jobs, which then do nothing (as in
# "closed" above), and the role; CREATE EXTENSION again picks them up.
$node->safe_psql('shop', 'SELECT vigil.schedule_maintenance()');
$node->safe_psql('shop', 'DROP TABLE txn; DROP EXTENSION vigil');
is($node->safe_psql('shop', 'SELECT count(*) FROM cron.job'), '2', 'DROP EXTENSION vigil leaves the jobs');
is($node->safe_psql('shop', "SELECT count(*) FROM pg_roles WHERE rolname = 'vigil_reader'"),
	'1', 'and the role');
$node->safe_psql('shop', 'CREATE EXTENSION vigil');
is($node->safe_psql('shop', 'SELECT vigil.unschedule_maintenance()'), '2',
	'after CREATE EXTENSION, unschedule_maintenance finds them');

# A member of vigil_admin schedules the jobs once a superuser lets it use
# pg_cron (USAGE on the schema cron, EXECUTE on cron.schedule_in_database);
# before that, the error says so.
$node->safe_psql('shop', 'CREATE ROLE ops LOGIN IN ROLE vigil_admin');
my ($rc, $stdout, $err_ops) = $node->psql('shop', 'SELECT vigil.schedule_maintenance()',
	extra_params => [ '-U', 'ops', '-v', 'VERBOSITY=verbose' ]);
like($err_ops, qr/ERROR:  42501: role "ops" may not use pg_cron/, 'an admin without pg_cron: 42501');
like($err_ops, qr/HINT:  As a superuser: GRANT USAGE ON SCHEMA cron TO vigil_admin;/,
	'saying what to grant');
$node->safe_psql('shop', 'GRANT USAGE ON SCHEMA cron TO vigil_admin');
like( ($node->psql('shop', 'SELECT vigil.schedule_maintenance()', extra_params => [ '-U', 'ops' ]))[2],
	qr/ERROR:  role "ops" may not use pg_cron/, 'USAGE alone is not enough');
$node->safe_psql('shop',
	'GRANT EXECUTE ON FUNCTION cron.schedule_in_database(text, text, text, text, text, boolean) TO vigil_admin');
($rc, $stdout, $err_ops) = $node->psql('shop', 'SELECT count(*) FROM vigil.schedule_maintenance()',
	extra_params => [ '-U', 'ops' ]);
is($stdout, '2', 'with both grants, an admin schedules the jobs') or diag($err_ops);
is( $node->safe_psql('shop', q{SELECT string_agg(jobname || ' ' || username, ', ' ORDER BY jobname) FROM cron.job}),
	'vigil-purge-shop ops, vigil-rebuild-shop ops', 'which run as that admin');
($rc, $stdout, $err_ops) = $node->psql('shop', 'SELECT vigil.unschedule_maintenance()',
	extra_params => [ '-U', 'ops' ]);
is($stdout, '2', 'and unschedules them') or diag($err_ops);

# A BI tool's login role in vigil_reader reads the views, and nothing else.
$node->safe_psql('branch', 'CREATE ROLE analyst LOGIN IN ROLE vigil_reader');
my ($ret, $out, $stderr) = $node->psql('branch',
	'SELECT count(*) FROM vigil.alert_feed; SELECT transactions FROM vigil.key_risk',
	extra_params => [ '-U', 'analyst' ]);
is($out, "2\n41", 'analyst reads alert_feed and key_risk');
($ret, $out, $stderr) = $node->psql('branch', 'SELECT count(*) FROM vigil.alerts',
	extra_params => [ '-U', 'analyst' ]);
like($stderr, qr/permission denied for table alerts/, 'but not vigil.alerts');
($ret, $out, $stderr) = $node->psql('branch', 'SELECT vigil.schedule_maintenance()',
	extra_params => [ '-U', 'analyst' ]);
like($stderr, qr/permission denied for function schedule_maintenance/, 'nor schedule jobs');

$node->stop;
done_testing();
