# The notifier: alerts reach an SNS-compatible endpoint that checks SigV4
# signatures and request parameters as AWS does (test/aws/endpoint.py),
# woken by the commit; throttling, 5xx and partial batch failures are
# retried, other 4xx are dead at once; nothing is lost across an immediate
# stop; SIGTERM stops it mid-request; SIGHUP reloads; DROP and CREATE
# EXTENSION do not make it crash; secrets stay hidden.
use strict;
use warnings;

use Encode qw(encode_utf8);
use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VigilAws;
use Time::HiRes qw(time usleep);

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my $other = 'arn:aws:sns:us-east-1:123456789012:vigil-other';
my $fifo = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts.fifo';
my ($akid, $secret) = ('AKIDVIGILTEST', 'vigil/test+secret=key');

# The endpoint, on a free port.
my $state = tempdir(CLEANUP => 1);
my $url = start_endpoint($state, '--topic', $topic, '--topic', $other, '--topic', $fifo,
	'--access-key', $akid, '--secret-key', $secret);
ok($url, 'the SNS endpoint is listening');

# An SNS message's body (a character string once out of the endpoint's JSON).
sub body
{
	return JSON::PP->new->decode($_[0]->{message});
}

# The messages the endpoint accepted, optionally for one topic.
sub messages
{
	my ($t) = @_;
	return [ grep { !$t || $_->{topic} eq $t } @{ control($url, 'GET', '/_messages') } ];
}

my $node = PostgreSQL::Test::Cluster->new('notifier');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, $akid, $secret, 'vigil.request_timeout_ms = 3000'));
$node->start;

# The errors and warnings the notifier logged (its lines carry only its pid).
sub worker_complaints
{
	my $log = slurp_file($node->logfile);
	my %pids = map { $_ => 1 } $log =~ /\[(\d+)\] LOG:  vigil notifier started/g;
	return join '', grep { /\[(\d+)\] (ERROR|WARNING):/ && $pids{$1} } split /^/m, $log;
}

ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = \'vigil notifier\''),
	'the worker runs before the extension exists');

$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);
is($node->safe_psql('postgres', 'SELECT vigil.notifier_running()'), 't', 'notifier_running()');

# One alert: sent with Publish, woken by the commit (the idle poll is 10 s).
my $t0 = time();
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (1, 'card-1', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-1'}, 'sent', 'one alert is sent');
cmp_ok(time() - $t0, '<', 5, 'delivered without waiting for the idle poll');
my $m = messages($topic);
is(scalar @$m, 1, 'the endpoint accepted one message');
my $body = body($m->[0]);
is_deeply(
	[ @$body{qw(alert_id watch relation key amount score)}, $body->{fired}, $body->{row_ref} ],
	[ 1, 1, 'public.txn', 'card-1', 5000, 1, ['amount_limit'], { id => 1 } ],
	'the message carries the alert');
like($body->{event_time}, qr/^2026-11-21T/, 'event_time is ISO 8601');
ok(exists $body->{explanation}, 'the message has the explanation');
is($m->[0]{attributes}{rules}{DataType}, 'String.Array', 'rules attribute type');
is($m->[0]{attributes}{rules}{StringValue}, '["amount_limit"]', 'rules attribute');
is($m->[0]{attributes}{score}{DataType}, 'Number', 'score attribute type');
is($m->[0]{attributes}{relation}{StringValue}, 'public.txn', 'relation attribute');
like($m->[0]{subject}, qr/^vigil alert: amount_limit on public\.txn, key card-1$/, 'subject');
is($node->safe_psql('postgres', 'SELECT table_name FROM vigil.alert_feed WHERE alert_id = 1'),
	$body->{relation}, 'the message names the table as the reporting views do');
is( $node->safe_psql('postgres', 'SELECT message_id IS NOT NULL AND delivered_at IS NOT NULL AND attempts = 1 FROM vigil.alerts'),
	't', 'message id, delivery time and attempts are recorded');

# 25 alerts in one statement: PublishBatch, 10 at a time; keys with '+',
# spaces and unicode arrive intact (RFC 3986 encoding, '+' as %2B).
$node->safe_psql('postgres', q{INSERT INTO txn SELECT i, 'c+ ' || i || ' é', 5000, '2026-11-21 10:00+00' FROM generate_series(2, 26) i});
wait_for_value($node, 'postgres', q{SELECT count(*) FROM vigil.alerts WHERE status = 'sent'}, '26', 'a batch of 25 is sent');
my %keys = map { encode_utf8(body($_)->{key}) => 1 } @{ messages($topic) };
ok($keys{'c+ 2 é'} && $keys{'c+ 26 é'}, "keys with '+', spaces and unicode arrive intact");
my $stats = control($url, 'GET', '/_stats');
ok($stats->{actions}{PublishBatch} >= 3, 'sent with PublishBatch');
is_deeply($stats->{rejected} // {}, {}, 'the endpoint rejected nothing');

# Throttling and 5xx are retried with backoff.
control($url, 'POST', '/_control', { fail_next => 2, fail_status => 400, fail_code => 'Throttling' });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (27, 'card-27', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status || ' ' || attempts FROM vigil.alerts WHERE key = 'card-27'}, 'sent 3', 'throttled twice, then sent');
control($url, 'POST', '/_control', { reset => JSON::PP::true, fail_next => 1, fail_status => 503, fail_code => 'ServiceUnavailable' });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (28, 'card-28', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status || ' ' || attempts FROM vigil.alerts WHERE key = 'card-28'}, 'sent 2', '503 retried');

# A PublishBatch partial failure retries only the failed entries.
control($url, 'POST', '/_control', { reset => JSON::PP::true, entry_fail_rate => 0.5 });
$node->safe_psql('postgres', q{INSERT INTO txn SELECT i, 'card-' || i, 5000, '2026-11-21 10:00+00' FROM generate_series(29, 38) i});
wait_for_value($node, 'postgres', q{SELECT count(*) FROM vigil.alerts WHERE key IN (SELECT 'card-' || i FROM generate_series(29, 38) i) AND status = 'sent'}, '10', 'partial failures are retried until sent');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 FROM vigil.alerts WHERE key IN (SELECT 'card-' || i FROM generate_series(29, 38) i) AND attempts > 1}),
	't', 'some entries needed another attempt');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
my %seen;
$seen{ body($_)->{alert_id} }++ for @{ messages($topic) };
is(scalar(grep { $seen{$_} > 1 } keys %seen), 0, 'no entry was delivered twice');

# Other 4xx: dead at once, with the error; requeue sends it again.
control($url, 'POST', '/_control', { remove_topic => $topic });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (39, 'card-39', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status || ' ' || attempts FROM vigil.alerts WHERE key = 'card-39'}, 'dead 1', 'a 404 is dead at once');
like($node->safe_psql('postgres', q{SELECT last_error FROM vigil.alerts WHERE key = 'card-39'}), qr/NotFound/, 'with the error');
is($node->safe_psql('postgres', q{SELECT alerts FROM vigil.delivery_status WHERE status = 'dead'}), '1', 'delivery_status counts it');
control($url, 'POST', '/_control', { add_topic => $topic });
is($node->safe_psql('postgres', 'SELECT vigil.requeue()'), '1', 'requeue');
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-39'}, 'sent', 'requeued alert is sent');

# After max_attempts failures: dead with the last error.
$node->safe_psql('postgres', 'ALTER SYSTEM SET vigil.max_attempts = 3; SELECT pg_reload_conf()');
control($url, 'POST', '/_control', { fail_rate => 1.0, fail_status => 500, fail_code => 'InternalError' });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (40, 'card-40', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status || ' ' || attempts FROM vigil.alerts WHERE key = 'card-40'}, 'dead 3', 'dead after max_attempts');
like($node->safe_psql('postgres', q{SELECT last_error FROM vigil.alerts WHERE key = 'card-40'}), qr/HTTP 500 InternalError/, 'with the last error');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
$node->safe_psql('postgres', 'ALTER SYSTEM RESET vigil.max_attempts; SELECT pg_reload_conf()');

# SIGHUP: a new default topic, and a watch that names its own (FIFO).
$node->safe_psql('postgres', "ALTER SYSTEM SET vigil.sns_topic_arn = '$other'; SELECT pg_reload_conf()");
usleep(500_000);
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (41, 'card-41', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-41'}, 'sent', 'sent after reload');
is(scalar @{ messages($other) }, 1, 'to the topic set by reload');
$node->safe_psql('postgres', "UPDATE vigil.watches SET sns_topic_arn = '$fifo'");
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (42, 'card-42', 5000, '2026-11-21 10:00+00'), (43, 'card-42', 6000, '2026-11-21 10:01+00')});
wait_for_value($node, 'postgres', q{SELECT count(*) FROM vigil.alerts WHERE key = 'card-42' AND status = 'sent'}, '2', 'FIFO alerts sent');
my @f = @{ messages($fifo) };
is_deeply([ map { [ $_->{group_id}, $_->{dedup_id} ] } @f ], [ [ 'card-42', '42' ], [ 'card-42', '43' ] ],
	'FIFO: the key is the group, the alert id the deduplication id');

# An immediate stop while a request hangs: the alert stays 'sending' and is
# delivered after the restart.
control($url, 'POST', '/_control', { hang => JSON::PP::true });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (44, 'card-44', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-44'}, 'sending', 'claimed while the endpoint hangs');
$node->stop('immediate');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
$node->start;
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-44'}, 'sent', 'delivered after an immediate stop');

# SIGTERM stops the worker at once, even in the middle of a request.
control($url, 'POST', '/_control', { hang => JSON::PP::true });
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (45, 'card-45', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-45'}, 'sending', 'a request in flight');
my $pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'});
$t0 = time();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"), 'SIGTERM stops it');
cmp_ok(time() - $t0, '<', 2, 'at once, not after the 3 s request timeout');
control($url, 'POST', '/_control', { reset => JSON::PP::true });
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-45'}, 'sent', 'the restarted worker delivers it');

# A message over SNS's 256 KB is trimmed, explanation first, not refused.
$node->safe_psql(
	'postgres', q{
	INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired, explanation)
	SELECT id, relation, '{"id": 0}', 'card-big', 5000, now(), 1, '{amount_limit}',
		   jsonb_build_array(jsonb_build_object('why', repeat('x', 300000)))
	FROM vigil.watches;
	SELECT vigil.wake_notifier();
});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-big'}, 'sent', 'an oversized alert is sent');
my ($big) = grep { body($_)->{key} eq 'card-big' } @{ messages() };
like(body($big)->{explanation}, qr/^\(trimmed/, 'with its explanation trimmed');
is(body($big)->{row_ref}{id}, 0, 'and the rest intact');

is(worker_complaints(), '', 'the worker logged no error or warning');

# An idle worker sleeps on its latch until the idle poll (10 s): over 3 s
# with nothing queued it wakes at most once or twice.  A worker that polled
# (or spun) would wake tens of times: each sleep is a voluntary context
# switch.
sub wakeups
{
	my ($p) = @_;
	return (slurp_file("/proc/$p/status") =~ /^voluntary_ctxt_switches:\s+(\d+)/m)[0];
}
$pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'});
my $woken = wakeups($pid);
usleep(3_000_000);
cmp_ok(wakeups($pid) - $woken, '<=', 5, 'an idle worker sleeps until there is work');

# DROP and CREATE EXTENSION: the same worker carries on, no crash loop.
$pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'});
$node->safe_psql('postgres', 'DROP EXTENSION vigil CASCADE');
usleep(1_500_000);
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (46, 'card-46', 5000, '2026-11-21 10:00+00')});
wait_for_value($node, 'postgres', q{SELECT status FROM vigil.alerts}, 'sent', 'delivered after DROP and CREATE EXTENSION');
is($node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'}),
	$pid, 'by the same worker process');

# Secrets: hidden from other roles, and never in the log.
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
my ($rc, $out, $err) = $node->psql('postgres', 'SHOW vigil.aws_secret_access_key', extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied|must be superuser/, 'SHOW of the secret is refused to others');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_settings WHERE name LIKE 'vigil.aws_s%'}, extra_params => [ '-U', 'app' ]),
	'0', 'pg_settings hides the secrets from others');
$node->safe_psql('postgres', q{ALTER SYSTEM SET vigil.aws_secret_access_key = 'rotated/secret+value'; SELECT pg_reload_conf()});
usleep(500_000);
my $log = slurp_file($node->logfile);
unlike($log, qr/rotated\/secret|vigil\/test\+secret/, 'no secret in the server log');
like($log, qr/vigil.aws_secret_access_key" changed \(value hidden\)/, 'the change itself is logged');

$node->stop;
done_testing();
