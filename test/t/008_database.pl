# The notifier's database can come and go: the launcher starts the notifier
# only while vigil.database exists, DROP DATABASE and a rename succeed
# without FORCE (the notifier leaves for them, even mid-request), a missing
# database is waited for quietly instead of a crash loop in the log, and
# delivery resumes once the database and the extension are back.  A DROP
# that fails for another reason brings the notifier back at once.
use strict;
use warnings;

use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VigilAws;
use Time::HiRes qw(time usleep);

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my ($akid, $secret) = ('AKIDVIGILTEST', 'vigil/test+secret=key');

my $state = tempdir(CLEANUP => 1);
my $url = start_endpoint($state, '--topic', $topic, '--access-key', $akid, '--secret-key', $secret);

my $node = PostgreSQL::Test::Cluster->new('database');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, q{vigil.database = 'fraud'},
		'vigil.request_timeout_ms = 20000'));
$node->start;

# The backend types of vigil's workers that are running, sorted.
sub workers
{
	return $node->safe_psql('postgres',
		q{SELECT string_agg(backend_type || ':' || coalesce(datname, '-'), ' ' ORDER BY backend_type)
		  FROM pg_stat_activity WHERE backend_type LIKE 'vigil %'});
}

# Wait until workers() is the expected value (about 30 s at most).
sub wait_workers
{
	my ($want, $what) = @_;
	my $got;
	for (1 .. 300)
	{
		$got = workers();
		last if $got eq $want;
		usleep(100_000);
	}
	is($got, $want, $what);
}

# The server log since a byte offset.
sub log_since
{
	my ($offset) = @_;
	my $log = slurp_file($node->logfile);
	return substr($log, $offset);
}

# Create fraud with the extension and a watched table.
sub create_fraud
{
	$node->safe_psql('postgres', 'CREATE DATABASE fraud');
	$node->safe_psql('fraud', 'CREATE EXTENSION vigil');
	watch_txn($node, 'fraud');
}

# 1. No database: the launcher alone, waiting quietly.
wait_workers('vigil launcher:-', 'without its database only the launcher runs');
ok($node->wait_for_log(qr/LOG:  vigil notifier waits for database "fraud" to exist/),
	'it says once that it waits for the database');
usleep(12_000_000);
my $log = slurp_file($node->logfile);
my @waits = $log =~ /waits for database/g;
is(scalar @waits, 1, 'said once, not at every check');
unlike($log, qr/FATAL|ERROR|WARNING/, 'no crash loop: nothing failed while it waited');
is(workers(), 'vigil launcher:-', 'still only the launcher');

# 2. CREATE DATABASE starts the notifier at once; with the extension, alerts go out.
my $t0 = time();
create_fraud();
wait_workers('vigil launcher:- vigil notifier:fraud', 'CREATE DATABASE starts the notifier');
cmp_ok(time() - $t0, '<', 4, 'without waiting for the next check');
$node->safe_psql('fraud', q{INSERT INTO txn VALUES (1, 'card-1', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'fraud', q{SELECT status FROM vigil.alerts WHERE key = 'card-1'}, 'sent', 'an alert is delivered');

# 3. DROP DATABASE without FORCE succeeds while the notifier is connected,
# even in the middle of a request, and quickly.
control($url, 'POST', '/_control', { hang => JSON::PP::true });
$node->safe_psql('fraud', q{INSERT INTO txn VALUES (2, 'card-2', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'fraud', q{SELECT status FROM vigil.alerts WHERE key = 'card-2'}, 'sending', 'a request in flight');
my $offset = length(slurp_file($node->logfile));
$t0 = time();
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE fraud');
is($rc, 0, 'DROP DATABASE succeeds without FORCE') or diag($err);
cmp_ok(time() - $t0, '<', 3, 'without waiting for the 5 s timeout');
like(log_since($offset), qr/LOG:  vigil notifier leaves database "fraud" for a statement that needs it alone/,
	'the notifier says why it left');
wait_workers('vigil launcher:-', 'the launcher stays, the notifier is gone');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
usleep(12_000_000);
$log = log_since($offset);
unlike($log, qr/FATAL|ERROR|WARNING/, 'no error and no restart loop after the drop');
is(workers(), 'vigil launcher:-', 'no notifier without the database');

# 4. Back: a new database, the extension, delivery resumes.
create_fraud();
wait_workers('vigil launcher:- vigil notifier:fraud', 'the notifier is back with the database');
$node->safe_psql('fraud', q{INSERT INTO txn VALUES (3, 'card-3', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'fraud', q{SELECT status FROM vigil.alerts WHERE key = 'card-3'}, 'sent', 'delivery resumes');

# 5. A rename away and back: the notifier follows the name.
$node->safe_psql('postgres', 'ALTER DATABASE fraud RENAME TO fraud_old');
wait_workers('vigil launcher:-', 'renamed away: no notifier');
$node->safe_psql('postgres', 'ALTER DATABASE fraud_old RENAME TO fraud');
wait_workers('vigil launcher:- vigil notifier:fraud', 'renamed back: the notifier returns');

# 6. A copy of it as a template needs it alone too.
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE fraud_copy TEMPLATE fraud');
is($rc, 0, 'CREATE DATABASE ... TEMPLATE fraud succeeds') or diag($err);
wait_workers('vigil launcher:- vigil notifier:fraud', 'and the notifier returns after it');

# 7. A DROP that fails for another reason (another session): the notifier
# comes back and delivers.
my $session = $node->background_psql('fraud');
$session->query_safe('SELECT 1');
($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE fraud');
isnt($rc, 0, 'DROP DATABASE fails while another session uses it');
like($err, qr/being accessed by other users/, 'with PostgreSQL\'s own error');
$session->quit;
wait_workers('vigil launcher:- vigil notifier:fraud', 'the notifier is back after the failed drop');
$node->safe_psql('fraud', q{INSERT INTO txn VALUES (4, 'card-4', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'fraud', q{SELECT status FROM vigil.alerts WHERE key = 'card-4'}, 'sent', 'and delivers');

# 8. A notifier that stops on its own is started again by the launcher.
my $pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
wait_workers('vigil launcher:- vigil notifier:fraud', 'a terminated notifier is started again');
isnt($node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'}),
	$pid, 'as a new process');

# 9. COMMIT PREPARED wakes the notifier: its alerts leave without the idle poll.
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 2');
$node->restart;
wait_workers('vigil launcher:- vigil notifier:fraud', 'both workers after a restart');
usleep(500_000);
$node->safe_psql('fraud', q{BEGIN; INSERT INTO txn VALUES (5, 'card-5', 5000, '2026-11-21 10:00+00'); PREPARE TRANSACTION 'p5'});
$t0 = time();
$node->safe_psql('fraud', q{COMMIT PREPARED 'p5'});
wait_for_value($node, 'fraud', q{SELECT status FROM vigil.alerts WHERE key = 'card-5'}, 'sent', 'a prepared transaction\'s alert is sent');
cmp_ok(time() - $t0, '<', 5, 'woken by COMMIT PREPARED, not the 10 s poll');

$node->stop;
done_testing();
