# The loopback AWS endpoint (test/aws/endpoint.py) for the TAP tests:
# start it on a free port, talk to its control API.
package VigilAws;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(start_endpoint control notifier_conf watch_txn wait_for_value);

my @pids;
END { kill 'TERM', @pids if @pids; }

# Start the endpoint with its state in $state and the given options; returns
# its base URL ("http://127.0.0.1:PORT", https with --tls-cert).  It is
# stopped when the test ends.
sub start_endpoint
{
	my ($state, @options) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		exec('/usr/bin/python3', 'test/aws/endpoint.py', '--port', '0',
			'--state-dir', $state, @options)
		  or die "could not run the endpoint: $!";
	}
	push @pids, $pid;
	for (1 .. 200) { last if -s "$state/port"; usleep(50_000); }
	my $port = slurp_file("$state/port");
	chomp $port;
	die "the endpoint did not start" unless $port =~ /^\d+$/;
	my $scheme = (grep { $_ eq '--tls-cert' } @options) ? 'https' : 'http';
	return "$scheme://127.0.0.1:$port";
}

# A request to the endpoint's control API (JSON in, JSON out).
sub control
{
	my ($url, $method, $path, $body) = @_;
	my @cmd = ('curl', '-s', '-k', '-X', $method, "$url$path");
	push @cmd, ('-d', encode_json($body)) if $body;
	my ($out, $err);
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err) or die "curl failed: $err";
	return decode_json($out);
}

# postgresql.conf lines for a notifier delivering to topic at url with the
# given key, retrying fast, plus any extra lines.
sub notifier_conf
{
	my ($url, $topic, $akid, $secret, @extra) = @_;
	my $conf = qq{shared_preload_libraries = 'vigil'
vigil.sns_topic_arn = '$topic'
vigil.sns_endpoint = '$url/'
vigil.retry_base_ms = 50
vigil.retry_max_ms = 200
};
	$conf .= "vigil.aws_access_key_id = '$akid'\nvigil.aws_secret_access_key = '$secret'\n" if $akid;
	return $conf . join('', map { "$_\n" } @extra);
}

# Watch table txn (created if need be, in database db or postgres) with one
# rule, amount_limit at 1000: each row of a larger amount raises exactly one
# alert.
sub watch_txn
{
	my ($node, $db) = @_;
	$node->safe_psql(
		$db // 'postgres', q{
		CREATE TABLE IF NOT EXISTS txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
		SELECT vigil.watch('txn', 'card', 'amount', 'ts');
		UPDATE vigil.rules SET enabled = false WHERE name <> 'amount_limit';
		UPDATE vigil.rules SET enabled = true, params = '{"limit": 1000}' WHERE name = 'amount_limit';
	});
}

# Wait until query sql in database db of node returns want (asking every
# 0.1 s for seconds, 30 by default), then test that it does.
sub wait_for_value
{
	my ($node, $db, $sql, $want, $what, $seconds) = @_;
	my $got;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	for (1 .. 10 * ($seconds // 30))
	{
		$got = $node->safe_psql($db, $sql);
		last if $got eq $want;
		usleep(100_000);
	}
	is($got, $want, $what);
}

1;
