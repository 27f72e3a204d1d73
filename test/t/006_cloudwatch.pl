# The AnomalyCount metric: with vigil.cloudwatch_namespace set, the
# notifier publishes to a CloudWatch-compatible endpoint that checks SigV4
# (service "monitoring") and PutMetricData as AWS does
# (test/aws/endpoint.py) one data point per watch per closed minute, 0
# included; every minute exactly once, across a downtime over a minute's
# end and a restart; 5xx and throttling are retried; after a long downtime
# the last 60 minutes only.  A server without a namespace publishes
# nothing.  Minutes are real time: this takes one and a half to two and a
# half minutes, whatever the phase of the clock it starts at.
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(floor strftime);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use Time::Local qw(timegm);
use VigilAws;

my $started = time();
my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my $namespace = 'Vigil/Test';
my ($akid, $secret) = ('AKIDVIGILMETRICS', 'vigil/metrics+secret=key');
my ($quiet_akid, $quiet_secret) = ('AKIDVIGILQUIET', 'vigil/quiet+secret=key');
# The notifier's grace after a minute's end, plus slack for a loaded machine.
my $grace = 5;
my $slack = 3;

my $dir = tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/keys.json" or die;
print $fh encode_json(
	[
		{ access_key => $akid, secret_key => $secret },
		{ access_key => $quiet_akid, secret_key => $quiet_secret }
	]);
close $fh;
my $state = "$dir/state";
my $url = start_endpoint($state, '--topic', $topic, '--credentials', "$dir/keys.json");

# A CloudWatch time stamp of a Unix time.
sub stamp
{
	return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0]));
}

# The Unix time of a CloudWatch time stamp.
sub stamp_time
{
	my ($y, $mo, $d, $h, $mi, $s) = $_[0] =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/ or die "bad time stamp $_[0]";
	return timegm($s, $mi, $h, $d, $mo - 1, $y);
}

# The data points the endpoint recorded.
sub points
{
	return control($url, 'GET', '/_metrics');
}

# The endpoint's log of CloudWatch requests (an injected failure comes
# before the action is read, so they are told by the signature's service).
sub cloudwatch_requests
{
	return [ grep { ($_->{service} // '') eq 'monitoring' || ($_->{action} // '') eq 'PutMetricData' }
		  map { decode_json($_) } split /\n/, slurp_file("$state/requests.jsonl") ];
}

# Wait (up to 150 s) until the endpoint has a data point of each relation
# at time stamp t; then the relations at t must be exactly these two.
sub wait_for_minute
{
	my ($t, $what) = @_;
	my %want = map { $_ => 1 } ('public.txn', '"Risk"."card txn"');
	my %got;
	for (1 .. 1500)
	{
		%got = map { $_->{dimensions}{Relation} => 1 } grep { $_->{timestamp} eq stamp($t) } @{ points() };
		last if !grep { !$got{$_} } keys %want;
		usleep(100_000);
	}
	is_deeply(\%got, \%want, $what);
}

# Sleep until Unix time t.
sub sleep_until
{
	my ($t) = @_;
	my $left = $t - time();
	usleep(int($left * 1_000_000)) if $left > 0;
}

# A server without a namespace, running all along: it publishes nothing.
my $quiet = PostgreSQL::Test::Cluster->new('quiet');
$quiet->init;
$quiet->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $quiet_akid, $quiet_secret, "vigil.cloudwatch_endpoint = '$url/'"));
$quiet->start;
$quiet->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($quiet);
$quiet->safe_psql('postgres', q{INSERT INTO txn VALUES (1, 'card-1', 5000, now())});
ok( $quiet->poll_query_until('postgres', q{SELECT status = 'sent' FROM vigil.alerts}),
	'the server without a namespace delivers its alert');

my ($rc, $out, $err) = $quiet->psql('postgres', q{ALTER SYSTEM SET vigil.cloudwatch_namespace = 'AWS/EC2'});
like($err, qr/invalid value for parameter "vigil.cloudwatch_namespace"/,
	'a namespace CloudWatch would refuse is refused');

my $node = PostgreSQL::Test::Cluster->new('metrics');
$node->init;
$node->append_conf(
	'postgresql.conf',
	notifier_conf(
		$url, $topic, $akid, $secret,
		"vigil.cloudwatch_namespace = '$namespace'",
		"vigil.cloudwatch_endpoint = '$url/'"));
$node->start;

# Two watches, in place before the notifier first looks: txn gets alerts,
# "Risk"."card txn" none (its name tests the dimension's quoting).
$node->safe_psql(
	'postgres', q{
	BEGIN;
	CREATE EXTENSION vigil;
	CREATE TABLE txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
	SELECT vigil.watch('txn', 'card', 'amount', 'ts');
	CREATE SCHEMA "Risk";
	CREATE TABLE "Risk"."card txn" (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
	SELECT vigil.watch('"Risk"."card txn"', 'card', 'amount', 'ts');
	UPDATE vigil.rules SET enabled = false WHERE name <> 'amount_limit';
	UPDATE vigil.rules SET enabled = true, params = '{"limit": 1000}' WHERE name = 'amount_limit';
	COMMIT;
});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM vigil.metric_cursor'),
	'the notifier starts publishing');
my $first = $node->safe_psql('postgres', 'SELECT extract(epoch FROM minute)::bigint FROM vigil.metric_cursor');
is($first % 60, 0, 'at the start of a minute');
cmp_ok(abs($first - floor(time() / 60) * 60), '<=', 60, 'the current one');

# Three alerts, all in the minute their transaction started in.
$node->safe_psql('postgres',
	q{INSERT INTO txn VALUES (1, 'card-1', 5000, now()), (2, 'card-2', 6000, now()), (3, 'card-1', 7000, now())});
my $alert_minute = $node->safe_psql('postgres',
	q{SELECT DISTINCT extract(epoch FROM date_bin('1 minute', created_at, '2000-01-01 00:00+00'))::bigint FROM vigil.alerts});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 3 FROM vigil.alerts WHERE status = 'sent'}),
	'the alerts go to SNS as ever');

# Down over the end of a minute: stopped before it ends, started after,
# the notifier publishes it then.  (Not while it may be publishing the
# minute before, which it does 5 s into a minute: a stop between the
# endpoint taking the data and the cursor moving would, rightly, send them
# again.)
my $s = time() - floor(time() / 60) * 60;
usleep(int((10 - $s) * 1_000_000)) if $s >= $grace - 1 && $s < 10;
$node->stop;
my $down = floor(time() / 60) * 60;
control($url, 'POST', '/_control',
	{ fail_next => 2, fail_status => 503, fail_code => 'ServiceUnavailable', fail_services => ['monitoring'] });
sleep_until($down + 60 + $grace + $slack);
$node->start;
wait_for_minute($down, 'the minute that ended while the server was down is published after it starts');
is(control($url, 'GET', '/_stats')->{faults_injected}, 2, 'after two 503 answers');
like(slurp_file($node->logfile), qr/could not publish AnomalyCount to CloudWatch: HTTP 503 ServiceUnavailable/,
	'which are logged');

# A restart right after: nothing is published again.  Wait for the cursor,
# which moves just after the endpoint has answered.
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT last_error IS NULL AND (minute, watch_id) >= (to_timestamp($down), (SELECT max(id) FROM vigil.watches))
	FROM vigil.metric_cursor}),
	'the cursor has moved past it');
$node->restart;
control($url, 'POST', '/_control',
	{ reset => JSON::PP::true, fail_next => 2, fail_status => 400, fail_code => 'Throttling', fail_services => ['monitoring'] });

# The next minute: throttled twice, then published.
wait_for_minute($down + 60, 'the next minute is published');
is(control($url, 'GET', '/_stats')->{faults_injected}, 4, 'after being throttled twice');
my @faults = map { $_->{fault} } grep { $_->{fault} } @{ cloudwatch_requests() };
is_deeply(\@faults, [ ('ServiceUnavailable') x 2, ('Throttling') x 2 ], 'the failed requests');

# Every minute from the first to the last, each once, per watch: the
# alerts' minute has 3 for txn, every other minute 0.
my $last = $down + 60;
my @want;
for (my $t = $first; $t <= $last; $t += 60)
{
	push @want, [ stamp($t), '"Risk"."card txn"', 0 ], [ stamp($t), 'public.txn', $t == $alert_minute ? 3 : 0 ];
}
my @points = grep { $_->{timestamp} le stamp($last) } @{ points() };
my @got = sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] }
  map { [ $_->{timestamp}, $_->{dimensions}{Relation}, $_->{value} ] } @points;
is_deeply(\@got, \@want, 'the counts of every minute, each once, zeros included');
cmp_ok($last - $alert_minute, '>=', 60, 'a minute without alerts is among them');
is_deeply(
	[ grep { $_->{namespace} ne $namespace || $_->{metric} ne 'AnomalyCount' || $_->{unit} ne 'Count' ||
			  join(',', keys %{ $_->{dimensions} }) ne 'Relation' || defined $_->{storage_resolution} ||
			  $_->{access_key} ne $akid } @points ],
	[],
	'namespace, metric, unit, the one dimension, standard resolution, the server\'s key');
is_deeply([ grep { $_->{service} ne 'monitoring' } @{ cloudwatch_requests() } ], [], 'signed for CloudWatch');
is(control($url, 'GET', '/_stats')->{rejected}{SignatureDoesNotMatch} // 0, 0, 'every signature matched');
ok( $node->poll_query_until(
		'postgres', qq{
	SELECT last_error IS NULL AND last_attempt_at IS NOT NULL
		AND (minute, watch_id) >= (to_timestamp($last), (SELECT max(id) FROM vigil.watches))
	FROM vigil.metric_cursor}),
	'the cursor shows the last request went through');

# After a long downtime only the last 60 minutes are published, and the
# log says so (the cursor and the watches are set back by hours for this).
my $before = scalar @{ points() };
$node->safe_psql('postgres', q{
	UPDATE vigil.metric_cursor SET minute = minute - interval '3 hours', watch_id = 0;
	UPDATE vigil.watches SET created_at = created_at - interval '1 day';
});
$node->restart;
for (1 .. 300)
{
	last if @{ points() } >= $before + 120;
	usleep(100_000);
}
my @caught_up = @{ points() }[ $before .. $before + 119 ];
my @caught_minutes = sort { $a <=> $b } keys %{ { map { stamp_time($_->{timestamp}) => 1 } grep { defined } @caught_up } };
is(scalar(grep { defined } @caught_up), 120, 'a catch-up publishes both watches\' counts');
is(scalar @caught_minutes, 60, 'of 60 minutes');
is($caught_minutes[-1] - $caught_minutes[0], 59 * 60, 'in a row');
cmp_ok(time() - $caught_minutes[-1], '<', 2 * 60 + $grace + 10, 'the last ones');
like(slurp_file($node->logfile), qr/LOG:  vigil notifier: AnomalyCount is not published for the minutes from /,
	'the log says which minutes are skipped');

# The server without a namespace published nothing over these minutes.
is(scalar(grep { $_->{access_key} eq $quiet_akid } @{ cloudwatch_requests() }), 0,
	'nothing is published without a namespace');
is($quiet->safe_psql('postgres', 'SELECT count(*) FROM vigil.metric_cursor'), '0', 'nor started');

note(sprintf('wall time %.0f s', time() - $started));
$node->stop;
$quiet->stop;
done_testing();
