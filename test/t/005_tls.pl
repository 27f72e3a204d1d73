# TLS: the notifier verifies the SNS endpoint's certificate and host name;
# an endpoint signed by an unknown CA is refused (the alert waits and says
# why) until vigil.ca_file names the CA; vigil.tls_verify = off is the only
# way around verification.
use strict;
use warnings;

use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VigilAws;
use Time::HiRes qw(usleep);

my $topic = 'arn:aws:sns:us-east-1:123456789012:vigil-alerts';
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;

# A CA, and a certificate for 127.0.0.1 signed by it.
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/ca.key -out $dir/ca.crt -days 2 -subj '/CN=vigil test CA' 2>/dev/null") == 0 or die;
system("openssl req -newkey rsa:2048 -nodes -keyout $dir/server.key -out $dir/server.csr -subj '/CN=127.0.0.1' 2>/dev/null") == 0 or die;
open my $fh, '>', "$dir/san.ext" or die;
print $fh "subjectAltName = IP:127.0.0.1\n";
close $fh;
system("openssl x509 -req -in $dir/server.csr -CA $dir/ca.crt -CAkey $dir/ca.key -CAcreateserial -out $dir/server.crt -days 2 -extfile $dir/san.ext 2>/dev/null") == 0 or die;
chmod 0644, glob("$dir/*");

my $state = "$dir/state";
my $url = start_endpoint($state, '--topic', $topic, '--access-key', 'AKIDTLS',
	'--secret-key', 'tls-secret', '--tls-cert', "$dir/server.crt", '--tls-key', "$dir/server.key");

my $node = PostgreSQL::Test::Cluster->new('tls');
$node->init;
$node->append_conf('postgresql.conf',
	notifier_conf($url, $topic, 'AKIDTLS', 'tls-secret', 'vigil.max_attempts = 1000'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
watch_txn($node);
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (1, 'card-1', 5000, '2026-11-21 10:00+00')});

ok( $node->poll_query_until('postgres', q{SELECT last_error ~ 'certificate' FROM vigil.alerts WHERE key = 'card-1'}),
	'an unknown CA is refused, with the reason');
isnt($node->safe_psql('postgres', q{SELECT status FROM vigil.alerts WHERE key = 'card-1'}), 'sent', 'the alert waits');

$node->append_conf('postgresql.conf', "vigil.ca_file = '$dir/ca.crt'");
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT status = 'sent' FROM vigil.alerts WHERE key = 'card-1'}),
	'delivered once vigil.ca_file names the CA');

# Verification is on by default: without the CA again, refused again ...
$node->append_conf('postgresql.conf', "vigil.ca_file = ''");
$node->reload;
$node->safe_psql('postgres', q{INSERT INTO txn VALUES (2, 'card-2', 5000, '2026-11-21 10:00+00')});
ok( $node->poll_query_until('postgres', q{SELECT last_error ~ 'certificate' FROM vigil.alerts WHERE key = 'card-2'}),
	'refused again without the CA');

# ... unless explicitly turned off.
$node->append_conf('postgresql.conf', "vigil.tls_verify = off");
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT status = 'sent' FROM vigil.alerts WHERE key = 'card-2'}),
	'delivered with vigil.tls_verify = off');

$node->stop;
done_testing();
