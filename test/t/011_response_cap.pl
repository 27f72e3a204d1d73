# The notifier reads at most 1 MB of an endpoint's answer: an endless one
# (the endpoint's "flood": a 200 whose chunked body goes on for 64 MB) fails
# the request with a clear last_error after about 1 MB, the notifier hangs
# up instead of reading the rest (an unbounded buffer took the worker to
# gigabytes), and the next request is delivered as usual.
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

my $node = PostgreSQL::Test::Cluster->new('cap');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'vigil.max_attempts = 1',
		'vigil.request_timeout_ms = 20000'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);

my $worker = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'};
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker) w"), 'the notifier runs');
my $pid = $node->safe_psql('postgres', $worker);

my $flood = 64 << 20;
control($url, 'POST', '/_control', { fail_next => 1, fail_mode => 'flood', flood_bytes => $flood });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (1, 'card-1', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status || ': ' || last_error FROM vigil.alerts WHERE row_ref ->> 'id' = '1'},
	'dead: the response was longer than 1048576 bytes',
	'an endless answer fails the request, saying so');
my $sent = control($url, 'GET', '/_stats')->{flood_bytes_sent};
cmp_ok($sent, '>=', 1 << 20, 'the notifier read 1 MB of it');
cmp_ok($sent, '<', $flood / 4, 'and hung up long before the end (' . int($sent / 1024) . ' kB sent)');

$node->safe_psql('postgres', q{INSERT INTO txn VALUES (2, 'card-2', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE row_ref ->> 'id' = '2'}, 'sent',
	'the next alert is delivered');
is($node->safe_psql('postgres', $worker), $pid, 'by the same worker, still running');

$node->stop;
done_testing();
