# Failover: alerts committed on a primary while SNS is unreachable, some of
# them in flight when the primary dies, are all delivered by the promoted
# standby.  The standby delivers nothing before its promotion (its workers
# start once recovery is finished); an alert that was in flight may be sent
# again (at least once), and subscribers tell by its alert_id.
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

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'vigil.batch_size = 10',
		'vigil.max_attempts = 1000000', 'vigil.request_timeout_ms = 600000'));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($primary);
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# The alert ids of the messages the endpoint accepted, with repeats.
sub delivered
{
	return [ map { decode_json($_->{message})->{alert_id} }
		  grep { $_->{topic} eq $topic } @{ control($url, 'GET', '/_messages') } ];
}

# SNS fails: 20 alerts wait, tried and failed.
control($url, 'POST', '/_control', { fail_rate => 1.0, fail_status => 503, fail_code => 'ServiceUnavailable' });
$primary->safe_psql('postgres',
	q{INSERT INTO txn SELECT i, 'card-' || i, 5000, '2026-11-21 10:00+00' FROM generate_series(1, 20) i});
wait_for_value($primary, 'postgres', q{SELECT bool_and(attempts > 0) FROM vigil.alerts}, 't',
	'the alerts are tried while SNS fails', 60);

# Then SNS takes requests and never answers: the next claim stays in flight.
control($url, 'POST', '/_control', { reset => JSON::PP::true, hang => JSON::PP::true });
$primary->safe_psql('postgres',
	q{INSERT INTO txn SELECT i, 'card-' || i, 5000, '2026-11-21 10:00+00' FROM generate_series(21, 30) i});
wait_for_value($primary, 'postgres', q{SELECT count(*) > 0 FROM vigil.alerts WHERE status = 'sending'}, 't',
	'a batch is in flight', 60);
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('postgres', q{SELECT count(*) FROM vigil.alerts WHERE status <> 'sent'}),
	'30', 'the standby has every undelivered alert');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'vigil%'}),
	'0',
	'no vigil worker runs on the standby');
my $in_flight = $standby->safe_psql('postgres', q{SELECT count(*) FROM vigil.alerts WHERE status = 'sending'});
cmp_ok($in_flight, '>', 0, 'some were in flight');

# The primary dies; the standby is promoted; SNS comes back.
$primary->stop('immediate');
$standby->promote;
control($url, 'POST', '/_control', { reset => JSON::PP::true, hang => JSON::PP::false });
wait_for_value($standby, 'postgres', q{SELECT count(*) FROM vigil.alerts WHERE status = 'sent'}, '30',
	'the promoted standby delivers every alert', 90);

my %times;
$times{$_}++ for @{ delivered() };
is(join(',', sort { $a <=> $b } keys %times), join(',', 1 .. 30), 'each alert reached SNS');
my @repeated = grep { $times{$_} > 1 } keys %times;
cmp_ok(scalar @repeated, '<=', $in_flight, 'only alerts in flight at the failover were sent twice');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM vigil.verify('txn')}), '0',
	'vigil.verify is clean on the promoted standby');

# Detection and delivery go on on the new primary.
$standby->safe_psql('postgres', q{INSERT INTO txn VALUES (31, 'card-31', 5000, '2026-11-21 11:00+00')});
wait_for_value($standby, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-31'}, 'sent',
	'a new alert is delivered by the new primary');
like(slurp_file($standby->logfile), qr/vigil notifier started/, 'its notifier started after promotion');
unlike(slurp_file($standby->logfile), qr/ERROR:.*vigil/, 'and nothing of vigil failed on the standby');

$standby->stop;
done_testing();
