# Faults around a watched table: an immediate stop in the middle of a
# 1M-row COPY (while its rows are read, and while detection runs on them)
# and in the middle of delivery; a statement timeout and a cancel during a
# watched COPY; the disk filling up under the profiles and under the table.
# After each, the failed statement left no trace (rows, profiles, alerts and
# skipped rows as before it), vigil.verify finds every stored profile equal
# to the one rebuilt from the committed rows, and in the end every committed
# alert has reached the SNS endpoint.
#
# The disk-full cases need a small filesystem the cluster can write: set
# VIGIL_SMALL_FS to an empty directory on one (test/run mounts a 48 MB tmpfs
# as root); without it they are skipped.
use strict;
use warnings;

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use VigilAws;

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my ($akid, $secret) = ('AKIDVIGILTEST', 'vigil/test+secret=key');
my $url = start_endpoint(PostgreSQL::Test::Utils::tempdir(), '--topic', $topic,
	'--access-key', $akid, '--secret-key', $secret);

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'shared_buffers = 128MB', 'max_wal_size = 2GB',
		'log_statement = none'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);    # txn: only amount_limit, 1000: a row of 5000 is one alert

# Server-side helpers: wait for the COPY into a table to have read at least
# min_rows rows (its progress row still there: the COPY has not returned),
# then stop the server at once (SIGQUIT to the postmaster, what pg_ctl stop
# -m immediate sends) or cancel the COPY.  Waiting and acting in the server
# leaves a few milliseconds between what was seen and the fault.
$node->safe_psql(
	'postgres', q{
	CREATE FUNCTION await_copy(tbl regclass, min_rows bigint) RETURNS bigint
		LANGUAGE plpgsql AS $$
	DECLARE
		n bigint;
	BEGIN
		FOR i IN 1..100000 LOOP
			PERFORM pg_stat_clear_snapshot();
			SELECT tuples_processed INTO n FROM pg_stat_progress_copy WHERE relid = tbl;
			IF n >= min_rows THEN
				RETURN n;
			END IF;
			PERFORM pg_sleep(0.002);
		END LOOP;
		RAISE EXCEPTION 'no COPY into % reached % rows', tbl, min_rows;
	END $$;
	CREATE FUNCTION quit_at(tbl regclass, min_rows bigint, postmaster int) RETURNS void
		LANGUAGE plpgsql AS $$
	DECLARE
		n bigint := await_copy(tbl, min_rows);
	BEGIN
		RAISE LOG 'faults test: immediate stop with % rows read', n;
		EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'kill -QUIT ' || postmaster);
		PERFORM pg_sleep(60);
	END $$;
	CREATE FUNCTION cancel_at(tbl regclass, min_rows bigint) RETURNS bigint
		LANGUAGE plpgsql AS $$
	DECLARE
		n bigint := await_copy(tbl, min_rows);
	BEGIN
		PERFORM pg_cancel_backend(pid) FROM pg_stat_progress_copy WHERE relid = tbl;
		RETURN n;
	END $$;
});

# A CSV file of 1,000,000 transactions with ids from first on, over keys
# prefix0 .. prefix(keys - 1), one second apart in event time (the id is
# the second), every 10,000th of 5000 (an alert), the others of 20-99.
my $dir = $node->basedir;
sub rows_file
{
	my ($name, $first, $keys, $prefix) = @_;
	my $file = "$dir/$name.csv";
	$node->safe_psql(
		'postgres', qq{
		COPY (SELECT i, '$prefix' || i % $keys, CASE WHEN i % 10000 = 0 THEN 5000 ELSE 20 + i % 80 END,
					 timestamptz '2026-01-01 00:00+00' + i * interval '1 second'
			  FROM generate_series($first, $first + 999999) i) TO '$file' (FORMAT csv)});
	return $file;
}

# What a failed statement must leave as it was: the table's rows, its
# watch's profiles (every byte), alerts and skipped rows.
sub state_of
{
	my ($tbl) = @_;
	return $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM $tbl) || ' rows, '
			   || (SELECT count(*) FROM vigil.alerts WHERE relation = '$tbl'::regclass) || ' alerts, '
			   || (SELECT count(*) FROM vigil.skipped WHERE relation = '$tbl'::regclass) || ' skipped, '
			   || count(*) || ' profiles ' || md5(string_agg(p.key || p.profile::text, ',' ORDER BY p.key))
		FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id
		WHERE w.relation = '$tbl'::regclass});
}

# vigil.verify finds nothing to report.
sub verify_clean
{
	my ($tbl, $what) = @_;
	my $t0 = time();
	my $report = $node->safe_psql('postgres',
		"SELECT key || ' ' || status || ' ' || coalesce(differences::text, '') FROM vigil.verify('$tbl') LIMIT 5"
	);
	is($report, '', "$what: vigil.verify('$tbl') reports nothing");
	return time() - $t0;
}

# Run a COPY in the background (psql, errors with their SQLSTATE).
sub start_copy
{
	my ($tbl, $file) = @_;
	my %run = (out => '', err => '');
	$run{h} = IPC::Run::start(
		[
			'psql', '-X', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('postgres'),
			'-c', "COPY $tbl FROM '$file' (FORMAT csv)"
		],
		'>', \$run{out}, '2>', \$run{err});
	return \%run;
}

# Stop the server from inside once the COPY into tbl has read min_rows rows;
# returns how many it had read, from the server log.
sub quit_at
{
	my ($tbl, $min_rows) = @_;
	my $pid = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	my $log_offset = -s $node->logfile;
	$node->psql('postgres', "SELECT quit_at('$tbl', $min_rows, $pid)");
	$node->stop('immediate', fail_ok => 1);
	my ($n) = slurp_file($node->logfile, $log_offset) =~ /faults test: immediate stop with (\d+) rows read/;
	return $n // -1;
}

# Every 5000 of the history is an alert: 100 per 1M rows.
my $history = rows_file('history', 1, 10000, 'card-');
my $t0 = time();
$node->safe_psql('postgres', "COPY txn FROM '$history' (FORMAT csv)");
diag(sprintf('a watched COPY of 1,000,000 rows: %.1f s', time() - $t0));
$node->safe_psql('postgres',
	q{INSERT INTO txn VALUES (1000001, 'card-1', 30, '2026-01-12 14:00+00'), (1000002, 'card-2', 5000, '2026-01-12 14:00+00')}
);
my $before = state_of('txn');
like($before, qr/^1000002 rows, 101 alerts, 0 skipped, 10000 profiles/, 'the history is in');
my $secs = verify_clean('txn', 'after 1,000,002 committed rows');
diag(sprintf('vigil.verify over 1,000,002 rows and 10,000 keys: %.1f s', $secs));

# The next day's million rows: half the keys known, half new.
my $next = rows_file('next', 2000001, 20000, 'card-');

# 1. An immediate stop while the COPY reads its rows.
my $copy = start_copy('txn', $next);
my $read = quit_at('txn', 200000);
$copy->{h}->finish;
ok($read >= 200000 && $read < 1000000, "stopped in the middle of the COPY ($read of 1,000,000 rows read)");
like($copy->{err}, qr/server closed the connection unexpectedly|terminating connection/,
	'the COPY lost its connection');
$node->start;
is(state_of('txn'), $before, 'after the restart: rows, profiles and alerts as before the COPY');
verify_clean('txn', 'immediate stop while rows were read');

# 2. An immediate stop while detection runs: every row read, the COPY not
# returned, so the statement's AFTER trigger is at work.
$copy = start_copy('txn', $next);
$read = quit_at('txn', 1000000);
$copy->{h}->finish;
is($read, 1000000, 'stopped after the COPY read its last row, before it returned');
like($copy->{err}, qr/server closed the connection unexpectedly|terminating connection/,
	'the COPY lost its connection');
$node->start;
is(state_of('txn'), $before, 'after the restart: no profile changed, no alert from the COPY');
verify_clean('txn', 'immediate stop during detection');

# 3. An immediate stop while alerts are being delivered: 3,000 alerts, the
# endpoint answering each request after 100 ms.
control($url, 'POST', '/_control', { delay_ms => 100 });
$node->safe_psql('postgres',
	q{INSERT INTO txn SELECT i, 'card-' || i % 10000, 5000, timestamptz '2026-01-01 00:00+00' + i * interval '1 second'
	  FROM generate_series(3000001, 3003000) i});
my $progress = '';
for (1 .. 600)
{
	$progress = $node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE status = 'sent') || ' sent, ' || count(*) FILTER (WHERE status = 'sending')
			 || ' sending, ' || count(*) FILTER (WHERE status = 'pending') || ' pending' FROM vigil.alerts});
	last if $progress =~ /^(\d+) sent, (\d+) sending, (\d+) pending/ && $1 >= 500 && $2 > 0 && $3 > 0;
	usleep(20_000);
}
like($progress, qr/^(\d+) sent, [1-9]\d* sending, [1-9]\d* pending$/,
	"stopped in the middle of delivery ($progress)");
$node->stop('immediate');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
$node->start;
$before = state_of('txn');
like($before, qr/^1003002 rows, 3101 alerts, 0 skipped, 10000 profiles/, 'the alerts committed before the stop are all there');
verify_clean('txn', 'immediate stop during delivery');

# 4. statement_timeout while the COPY reads its rows.
my $third = rows_file('third', 4000001, 20000, 'card-');
my ($ret, $out, $err) = $node->psql(
	'postgres',
	"SET statement_timeout = '400ms'; COPY txn FROM '$third' (FORMAT csv)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  57014: canceling statement due to statement timeout/, 'statement_timeout: 57014');
my ($line) = $err =~ /COPY txn, line (\d+)/;
ok(defined $line && $line < 1000000, 'in the middle of the COPY (line ' . ($line // '?') . ')');
is(state_of('txn'), $before, 'statement_timeout: rows, profiles and alerts as before');
verify_clean('txn', 'statement_timeout');

# 5. A cancel (the same interrupt as a timeout) while detection runs.
$copy = start_copy('txn', $third);
is($node->safe_psql('postgres', "SELECT cancel_at('txn', 1000000)"),
	'1000000', 'cancelled after the COPY read its last row, before it returned');
$copy->{h}->finish;
like($copy->{err}, qr/ERROR:  57014: canceling statement due to user request/, 'cancel during detection: 57014');
is(state_of('txn'), $before, 'cancel during detection: rows, profiles and alerts as before');
verify_clean('txn', 'cancel during detection');

# 6. The disk fills up, with a tablespace on a small filesystem: first under
# the profiles (detection's writes fail), then under the table itself.
SKIP:
{
	my $small = $ENV{VIGIL_SMALL_FS};
	skip 'VIGIL_SMALL_FS is not set to a directory on a small filesystem', 11
	  unless $small && -d $small && -w $small;
	my $fresh = rows_file('fresh', 5000001, 200000, 'new-');
	my $location = "$small/faults-$$";
	mkdir $location or die "could not create $location: $!";
	$node->safe_psql('postgres', "CREATE TABLESPACE small LOCATION '$location'");

	$node->safe_psql('postgres', 'VACUUM FULL vigil.profiles');
	$node->safe_psql('postgres',
		'ALTER TABLE vigil.profiles SET TABLESPACE small; ALTER INDEX vigil.profiles_pkey SET TABLESPACE small');
	($ret, $out, $err) = $node->psql('postgres', "COPY txn FROM '$fresh' (FORMAT csv)",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  53100: could not extend file "pg_tblspc\/[^"]*": (No space left on device|wrote only)/,
		'disk full under the profiles: 53100');
	unlike($err, qr/COPY txn, line \d+/, 'after every row was read, in detection');
	is(state_of('txn'), $before, 'disk full under the profiles: rows, profiles and alerts as before');
	verify_clean('txn', 'disk full under the profiles');
	$node->safe_psql('postgres',
		'ALTER TABLE vigil.profiles SET TABLESPACE pg_default; ALTER INDEX vigil.profiles_pkey SET TABLESPACE pg_default'
	);

	$node->safe_psql(
		'postgres', q{
		CREATE TABLE txn_small (LIKE txn INCLUDING ALL) TABLESPACE small;
		SELECT vigil.watch('txn_small', 'card', 'amount', 'ts');
		INSERT INTO txn_small SELECT i, 'new-' || i % 100, 20 + i % 7, timestamptz '2026-01-01 00:00+00' + i * interval '1 second'
		FROM generate_series(1, 1000) i;
	});
	my $small_before = state_of('txn_small');
	like($small_before, qr/^1000 rows, \d+ alerts, 0 skipped, 100 profiles/,
		'a watched table on the small filesystem, with the default rules');
	($ret, $out, $err) = $node->psql('postgres', "COPY txn_small FROM '$fresh' (FORMAT csv)",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  53100: could not extend file "pg_tblspc\/[^"]*": (No space left on device|wrote only)/,
		'disk full under the table: 53100');
	($line) = $err =~ /COPY txn_small, line (\d+)/;
	ok(defined $line && $line < 1000000, 'in the middle of the COPY (line ' . ($line // '?') . ')');
	is(state_of('txn_small'), $small_before, 'disk full under the table: rows, profiles and alerts as before');
	verify_clean('txn_small', 'disk full under the table');
	$node->safe_psql('postgres', 'SELECT vigil.unwatch(\'txn_small\'); DROP TABLE txn_small; DROP TABLESPACE small');
	rmdir $location;

	# and detection goes on as before once there is room
	$node->safe_psql('postgres', "INSERT INTO txn VALUES (5000000, 'new-1', 5000, '2026-03-01 00:00+00')");
	verify_clean('txn', 'an insert after the disk-full errors');
	$before = state_of('txn');
	like($before, qr/^1003003 rows, 3102 alerts, 0 skipped, 10001 profiles/, 'and it alerts');
}

# Every committed alert is delivered: sent, and at the endpoint (at least
# once: those in flight at the immediate stop went again); none of a failed
# statement was ever sent.
my $undelivered;
for (1 .. 1200)
{
	$undelivered = $node->safe_psql('postgres', q{SELECT count(*) FROM vigil.alerts WHERE status <> 'sent'});
	last if $undelivered eq '0';
	usleep(100_000);
}
is($undelivered, '0', 'every alert is sent');
my %at_endpoint;
$at_endpoint{ decode_json($_->{message})->{alert_id} }++ for @{ control($url, 'GET', '/_messages') };
my %committed = map { $_ => 1 } split /\n/, $node->safe_psql('postgres', 'SELECT id FROM vigil.alerts');
is(scalar(grep { !$at_endpoint{$_} } keys %committed), 0, 'the endpoint has every committed alert');
is(scalar(grep { !$committed{$_} } keys %at_endpoint), 0, 'and no other');
diag(sprintf('%d alerts, %d delivered more than once (in flight at the immediate stop)',
		scalar(keys %committed), scalar(grep { $_ > 1 } values %at_endpoint)));

$node->stop;
done_testing();
