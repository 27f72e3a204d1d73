# The AWS secrets stay out of the server log and pg_stat_statements, however
# the statement that sets them is spelled.  The log line of a statement is
# written before any hook sees its parse tree, so vigil decides from the
# text (src/redact.c, src/core/sqlscan.c).  Every statement below is logged
# by log_statement = all and log_min_duration_statement = 0, most fail with
# a STATEMENT line too, and pg_stat_statements (loaded before vigil, so
# vigil's utility hook runs first) keeps utility statements' text; none of
# the secret values may appear in the log or in pg_stat_statements, while
# a statement setting another parameter still does.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('secret_log');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_stat_statements,vigil'
log_statement = 'all'
log_min_duration_statement = 0
log_min_error_statement = 'error'
pg_stat_statements.track_utility = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');

# Each statement sets (or tries to set) a secret to a value of its own.
my @statements = (
	q{ALTER SYSTEM SET VIGIL.AWS_SECRET_ACCESS_KEY = 'value-upper'},
	q{ALTER SYSTEM SET "vigil"."aws_secret_access_key" = 'value-quoted'},
	q{ALTER SYSTEM SET vigil . aws_secret_access_key = 'value-spaced'},
	q{ALTER SYSTEM SET vigil/* c */./* d */aws_session_token = 'value-comments'},
	q{ALTER SYSTEM SET "VIGIL.AWS_ACCESS_KEY_ID" = 'value-one-identifier'},
	q{ALTER SYSTEM SET U&"vigil".U&"aws\005fsecret_access_key" = 'value-unicode'},
	q{BEGIN; ALTER SYSTEM SET vigil.aws_secret_access_key = 'value-in-transaction'; COMMIT},
	q{SET vigil.aws_session_token = 'value-set'},
	q{SELECT set_config('vigil.aws_secret_access_key', 'value-set-config', false)},
	q{SELECT set_config(E'vigil.\x61ws_secret_access_key', 'value-escaped', false)},
	qq{SELECT set_config('vigil.aws_'\n'session_token', 'value-split', false)},
	q{SELECT set_config('vi' || 'gil.aws_session_token', 'value-joined', false)},
	q{DO $$BEGIN EXECUTE 'ALTER SYSTEM SET vigil.aws_secret_access_key = ''value-do'''; END$$},
	q{ALTER ROLE postgres SET vigil.aws_session_token = 'value-role'},
);
my $failed = 0;
for my $sql (@statements)
{
	my ($ret) = $node->psql('postgres', $sql);
	$failed++ if $ret != 0;
}
cmp_ok($failed, '>=', 6, "many of them fail, so their STATEMENT lines are due ($failed)");

# The extended protocol (pgbench -M extended: Parse, Bind, Execute), whose
# log lines are "execute <unnamed>: ..." with a DETAIL giving the parameters.
my $script = $node->basedir . '/secret.sql';
open(my $fh, '>', $script) or die "could not write $script: $!";
print $fh "\\set n 424242\nSELECT set_config('vigil.aws_session_token', :n::text, false);\n";
close $fh;
$node->command_checks_all(
	[ 'pgbench', '-n', '-M', 'extended', '-t', '1', '-f', $script, '-h', $node->host, '-p', $node->port, 'postgres' ],
	2, [qr/^/], [qr/cannot be changed now/], 'pgbench sends a statement setting a secret, which fails');
$node->safe_psql('postgres', 'ALTER SYSTEM SET vigil.batch_size = 99');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET ALL');

my $log = slurp_file($node->logfile);
my @leaked = grep { $log =~ /\Q$_\E/ } map { /'(value-[a-z-]+)/ ? $1 : () } @statements;
is(scalar(@leaked), 0, 'no value is in the server log: ' . join(', ', @leaked));
unlike($log, qr/424242/, 'nor the parameter of the extended-protocol statement');
unlike($log, qr/execute <unnamed>: SELECT set_config/, 'whose execution is logged as hidden');
like($log, qr/statement: \(hidden: it names a vigil secret\)/, 'the statements are logged as hidden');
like($log, qr/statement: ALTER SYSTEM SET vigil\.batch_size = 99/, 'another parameter\'s statement is logged');
my $errors = () = $log =~ /ERROR:  /g;
cmp_ok($errors, '>=', $failed, 'the failures are logged, without their statements');

my $kept = $node->safe_psql('postgres', q{SELECT string_agg(query, ' | ') FROM pg_stat_statements});
@leaked = grep { $kept =~ /\Q$_\E/ } map { /'(value-[a-z-]+)/ ? $1 : () } @statements;
is(scalar(@leaked), 0, 'no value is in pg_stat_statements: ' . join(', ', @leaked));
like($kept, qr/ALTER SYSTEM SET vigil\.batch_size = 99/, 'another parameter\'s statement is kept');

$node->stop;
done_testing();
