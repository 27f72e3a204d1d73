# While the SNS endpoint fails every request, the commits of new alerts do
# not make the notifier try it again each time (each try costs the
# inserting sessions a wakeup, and the endpoint a request): it pauses after
# each failed round, longer each time up to 10 s, and then sends what
# accumulated in batches.  Once the endpoint is back, everything is
# delivered.  With no topic set at all, alerts are recorded and the
# notifier is not woken by them.
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VigilAws;

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my ($akid, $secret) = ('AKIDVIGILTEST', 'vigil/test+secret=key');
my $state = tempdir(CLEANUP => 1);
my $url = start_endpoint($state, '--topic', $topic, '--access-key', $akid, '--secret-key', $secret);

my $node = PostgreSQL::Test::Cluster->new('failing');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'vigil.max_attempts = 1000000',
		'vigil.batch_size = 10'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);

# API requests the endpoint has seen.
sub requests
{
	return control($url, 'GET', '/_stats')->{requests} // 0;
}

# Every request fails with a 500: the first alert is tried, and fails.
control($url, 'POST', '/_control', { fail_rate => 1.0, fail_status => 500, fail_code => 'InternalError' });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (1, 'card-1', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT attempts > 0 FROM vigil.alerts WHERE id = 1}, 't', 'the first alert is tried', 60);

# 200 alerts, one commit each, over about 3 s.  A round claims 10 alerts
# (vigil.batch_size), one PublishBatch request, however slow the machine:
# the requests count the rounds.
my $before = requests();
for my $i (2 .. 201)
{
	$node->safe_psql('postgres', "INSERT INTO txn VALUES ($i, 'card-$i', 5000, '2026-11-21 10:00+00')");
	usleep(15_000);
}
my $during = requests() - $before;
note("requests while 200 alerts were committed against a failing endpoint: $during");
cmp_ok($during, '<', 60, 'the notifier does not try the endpoint at every commit');
cmp_ok($during, '>', 0, 'but keeps trying it');

# The endpoint is back: every alert is delivered.
control($url, 'POST', '/_control', { reset => JSON::PP::true });
wait_for_value($node, 'postgres', q{SELECT count(*) FILTER (WHERE status = 'sent') FROM vigil.alerts}, '201',
	'every alert is delivered once the endpoint is back', 60);

# No topic at all: alerts are recorded, never queued, and no request is made.
$node->safe_psql('postgres', q{ALTER SYSTEM SET vigil.sns_topic_arn = ''; SELECT pg_reload_conf()});
usleep(500_000);
$before = requests();
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (300, 'card-300', 5000, '2026-11-21 11:00+00')});
is($node->safe_psql('postgres', q{SELECT status FROM vigil.alerts WHERE id = (SELECT max(id) FROM vigil.alerts)}),
	'recorded', 'with no topic set, an alert is recorded');
usleep(1_000_000);
is(requests() - $before, 0, 'and nothing is sent');
is($node->safe_psql('postgres', q{SELECT alerts FROM vigil.delivery_status WHERE status = 'recorded'}),
	'1', 'delivery_status counts it');

$node->stop;
done_testing();
