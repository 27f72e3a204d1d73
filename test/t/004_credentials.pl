# The notifier's AWS credentials provider chain, each source against a
# loopback fake (test/aws/endpoint.py): settings, environment, shared
# credentials file, ECS container credentials and EC2 IMDSv2; the order of
# precedence; a half-configured source is refused; temporary credentials
# are fetched again before they expire and when AWS says they expired.
use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VigilAws;
use Time::HiRes qw(usleep);

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;

# Long-lived keys the endpoint knows, one per static source.
my %keys = (
	settings => [ 'AKIDSETTINGS', 'settings/secret' ],
	environment => [ 'AKIDENVIRONMENT', 'environment+secret' ],
	file => [ 'AKIDFILE', 'file=secret' ],
	profile => [ 'AKIDPROFILE', 'profile/secret' ]);
open my $fh, '>', "$dir/keys.json" or die;
print $fh encode_json([ map { { access_key => $_->[0], secret_key => $_->[1] } } values %keys ]);
close $fh;

my $state = "$dir/state";
my $url = start_endpoint($state, '--topic', $topic, '--credentials', "$dir/keys.json",
	'--ecs-auth', 'ecs-token', '--temp-ttl', '315');

# The access key of the last request SNS accepted.
sub last_key
{
	my @lines = grep { /"action": "Publish/ && /"status": 200/ } split /\n/, slurp_file("$state/requests.jsonl");
	return @lines ? decode_json($lines[-1])->{access_key} : '';
}

# A shared credentials file with two profiles.
open $fh, '>', "$dir/credentials" or die;
print $fh "[default]\naws_access_key_id = $keys{file}[0]\naws_secret_access_key = $keys{file}[1]\n\n"
  . "# another profile\n[vigil]\r\naws_access_key_id=$keys{profile}[0]\r\naws_secret_access_key=$keys{profile}[1]\r\n";
close $fh;
chmod 0644, "$dir/credentials";

my $node = PostgreSQL::Test::Cluster->new('credentials');
$node->init;
$node->append_conf('postgresql.conf', notifier_conf($url, $topic));

# No source at all: the instance metadata service is looked up last; here
# it is disabled, and the alert waits.
$ENV{HOME} = $dir;    # no ~/.aws/credentials there until we say so
$ENV{AWS_EC2_METADATA_DISABLED} = 'true';
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);

my $next_id = 1;

# Insert an alert and wait for its status; returns the status.
sub alert
{
	my ($want) = @_;
	my $id = $next_id++;
	$node->safe_psql('postgres', "INSERT INTO txn VALUES ($id, 'card-$id', 5000, '2026-11-21 10:00+00')");
	my $got;
	for (1 .. 150)
	{
		$got = $node->safe_psql('postgres', "SELECT status FROM vigil.alerts WHERE key = 'card-$id'");
		last if $got eq $want;
		usleep(100_000);
	}
	return $got;
}

# Restart the server with the given environment (added to the base one).
sub restart_with
{
	my (%env) = @_;
	delete $ENV{$_} for grep { /^AWS_/ } keys %ENV;
	$ENV{AWS_EC2_METADATA_DISABLED} = 'true';
	$ENV{$_} = $env{$_} for keys %env;
	delete $ENV{$_} for grep { !defined $env{$_} && exists $env{$_} } keys %env;
	$node->restart;
}

# An idle worker looks for no credentials: nothing is due, so nothing is
# asked of any source (on a machine without credentials that would be a
# metadata request every round), and nothing is logged.
$node->safe_psql('postgres', 'SELECT vigil.wake_notifier()');
usleep(2_000_000);
unlike(slurp_file($node->logfile), qr/no AWS credentials/, 'an idle worker does not look for credentials');

is(alert('pending'), 'pending', 'no credentials: the alert waits');
ok($node->wait_for_log(qr/WARNING:  vigil notifier: no AWS credentials: none configured/),
	'and the worker says why');

# Shared credentials file: the default profile, then AWS_PROFILE.
restart_with(AWS_SHARED_CREDENTIALS_FILE => "$dir/credentials");
is(alert('sent'), 'sent', 'shared credentials file');
is(last_key(), $keys{file}[0], 'signed with the default profile');
restart_with(AWS_SHARED_CREDENTIALS_FILE => "$dir/credentials", AWS_PROFILE => 'vigil');
is(alert('sent'), 'sent', 'shared credentials file, AWS_PROFILE');
is(last_key(), $keys{profile}[0], 'signed with that profile');

# Environment, which comes before the file.
restart_with(
	AWS_SHARED_CREDENTIALS_FILE => "$dir/credentials",
	AWS_ACCESS_KEY_ID => $keys{environment}[0],
	AWS_SECRET_ACCESS_KEY => $keys{environment}[1]);
is(alert('sent'), 'sent', 'environment');
is(last_key(), $keys{environment}[0], 'the environment wins over the file');

# A half-configured source is an error, not a fall-through.
my $offset = -s $node->logfile;
restart_with(AWS_SHARED_CREDENTIALS_FILE => "$dir/credentials", AWS_ACCESS_KEY_ID => 'AKIDONLY');
is(alert('pending'), 'pending', 'a key id without its secret is not used');
ok($node->wait_for_log(qr/no AWS credentials: environment: an access key id needs its secret/, $offset),
	'and is reported');

# Settings, which come first; SIGHUP picks them up.
$node->append_conf('postgresql.conf',
	"vigil.aws_access_key_id = '$keys{settings}[0]'\nvigil.aws_secret_access_key = '$keys{settings}[1]'");
$node->reload;
is(alert('sent'), 'sent', 'settings, after a reload');
is(last_key(), $keys{settings}[0], 'the settings win over the environment');
$node->append_conf('postgresql.conf', "vigil.aws_access_key_id = ''\nvigil.aws_secret_access_key = ''");

# ECS container credentials, with the authorization token.
restart_with(
	AWS_CONTAINER_CREDENTIALS_FULL_URI => "$url/ecs/creds",
	AWS_CONTAINER_AUTHORIZATION_TOKEN => 'ecs-token');
is(alert('sent'), 'sent', 'ECS container credentials');
like(last_key(), qr/^ASIA/, 'signed with the temporary key and its session token');
is(control($url, 'GET', '/_stats')->{credential_fetches}{ecs}, 1, 'fetched once');

# The same with the token in a file; a wrong token is refused by the agent.
open $fh, '>', "$dir/ecs-token" or die;
print $fh "ecs-token\n";
close $fh;
chmod 0644, "$dir/ecs-token";
restart_with(
	AWS_CONTAINER_CREDENTIALS_FULL_URI => "$url/ecs/creds",
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE => "$dir/ecs-token");
is(alert('sent'), 'sent', 'ECS container credentials, token file');
$offset = -s $node->logfile;
restart_with(
	AWS_CONTAINER_CREDENTIALS_FULL_URI => "$url/ecs/creds",
	AWS_CONTAINER_AUTHORIZATION_TOKEN => 'wrong');
is(alert('pending'), 'pending', 'a wrong container token gets nothing');
ok($node->wait_for_log(qr/no AWS credentials: GET .*ecs\/creds: HTTP 401/, $offset), 'and is reported');

# EC2 instance metadata, IMDSv2.
restart_with(AWS_EC2_METADATA_DISABLED => undef, AWS_EC2_METADATA_SERVICE_ENDPOINT => $url);
is(alert('sent'), 'sent', 'instance metadata (IMDSv2)');
like(last_key(), qr/^ASIA/, 'signed with the instance role\'s temporary key');
my $fetches = control($url, 'GET', '/_stats')->{credential_fetches};
ok($fetches->{imds_token} >= 1 && $fetches->{imds_credentials} >= 1, 'token first, then the role\'s credentials');

# Temporary credentials are refreshed five minutes before they expire
# (they last 315 s here): after 15 s, the next alert fetches new ones.
my $before = $fetches->{imds_credentials};
sleep 16;
is(alert('sent'), 'sent', 'sent after the refresh time');
cmp_ok(control($url, 'GET', '/_stats')->{credential_fetches}{imds_credentials}, '>', $before, 'credentials were fetched again');

# Credentials AWS says expired are dropped and fetched again at once.
$before = control($url, 'GET', '/_stats')->{credential_fetches}{imds_credentials};
control($url, 'POST', '/_control', { expire_credentials => JSON::PP::true });
is(alert('sent'), 'sent', 'sent after ExpiredToken');
cmp_ok(control($url, 'GET', '/_stats')->{credential_fetches}{imds_credentials}, '>', $before, 'after fetching new credentials');

# What the metadata service returns goes into a URL path and a header: a
# role name no IAM role can have (here with '?' and a space, which would
# reach another resource) is refused, not requested.
my $bad_url = start_endpoint("$dir/bad-imds", '--topic', $topic, '--imds-role', 'evil?role=x y');
$offset = -s $node->logfile;
restart_with(AWS_EC2_METADATA_DISABLED => undef, AWS_EC2_METADATA_SERVICE_ENDPOINT => $bad_url);
is(alert('pending'), 'pending', 'a bad role name gets no credentials');
ok($node->wait_for_log(qr/no AWS credentials: .*instance metadata: the role name has characters an IAM role name cannot have/, $offset),
	'and is reported');
is(control($bad_url, 'GET', '/_stats')->{credential_fetches}{imds_credentials}, 0, 'its credentials were never asked for');

$node->stop;
done_testing();
