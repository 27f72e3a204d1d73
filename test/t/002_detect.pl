# Detection across the life of a database: its watches, rules, profiles and
# alerts survive pg_dump and pg_restore and detection goes on afterwards;
# it survives a restart; DROP EXTENSION ... CASCADE leaves the table usable.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('detect');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vigil'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql(
	'app', q{
	CREATE EXTENSION vigil;
	CREATE TABLE txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
	SELECT vigil.watch('txn', 'card', 'amount', 'ts');
	UPDATE vigil.rules SET params = '{"threshold": 4}' WHERE name = 'amount_zscore';
	INSERT INTO txn SELECT i, 'card-' || i % 3, 40 + i % 5, timestamptz '2026-11-01' + i * interval '1 hour'
	FROM generate_series(1, 60) i;
	INSERT INTO txn VALUES (61, 'card-1', 2000, '2026-11-04');
});

my $state = q{
	SELECT (SELECT string_agg(key || ' ' || profile::text, ',' ORDER BY key) FROM vigil.profiles)
		|| (SELECT string_agg(name || params::text || enabled, ',' ORDER BY name) FROM vigil.rules)
		|| (SELECT string_agg(row_ref::text || score || array_to_string(fired, ' '), ',' ORDER BY id)
			FROM vigil.alerts)};
my $before = $node->safe_psql('app', $state);
is($node->safe_psql('app', 'SELECT count(*) FROM vigil.alerts'), '1', 'the spike alerted');

# Custom-format dump, restored into a new database.
my $dump = $node->basedir . '/app.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', $state), $before,
	'profiles, rules and alerts are restored exactly');
is( $node->safe_psql(
		'restored', "SELECT string_agg(tgname || ' ' || tgenabled::text, ', ' ORDER BY tgname)
		FROM pg_trigger WHERE tgrelid = 'txn'::regclass AND NOT tgisinternal"),
	'vigil_detect O, vigil_detect_replicated R',
	'the detection triggers are restored, the replicated rows\' one enabled REPLICA');

# Detection goes on in the restored database, with the restored profiles.
$node->safe_psql('restored', "INSERT INTO txn VALUES (62, 'card-1', 41, '2026-11-04 01:00')");
is( $node->safe_psql(
		'restored', "SELECT vigil.profile_json(profile) ->> 'n' FROM vigil.profiles WHERE key = 'card-1'"),
	'22',
	'detection continues from the restored profile');
$node->safe_psql('restored', "INSERT INTO txn VALUES (63, 'card-2', 3000, '2026-11-04 02:00')");
is($node->safe_psql('restored', 'SELECT count(*) FROM vigil.alerts'),
	'2', 'and alerts as before, with the restored rules');

# A restart changes nothing.
$node->restart;
is($node->safe_psql('app', $state), $before, 'state survives a restart');
$node->safe_psql('app', "INSERT INTO txn VALUES (62, 'card-0', 42, '2026-11-04 03:00')");
is( $node->safe_psql(
		'app', "SELECT vigil.profile_json(profile) ->> 'n' FROM vigil.profiles WHERE key = 'card-0'"),
	'21',
	'detection works after a restart');

# DROP EXTENSION needs CASCADE (the trigger uses vigil.detect) and then
# leaves the table working without detection.
my ($ret, $out, $err) = $node->psql('app', 'DROP EXTENSION vigil');
like($err, qr/trigger vigil_detect on table txn depends on function vigil\.detect\(\)/,
	'DROP EXTENSION names the trigger that depends on it');
$node->safe_psql('app', 'DROP EXTENSION vigil CASCADE');
$node->safe_psql('app', "INSERT INTO txn VALUES (64, 'card-0', 42, '2026-11-04 04:00')");
is($node->safe_psql('app', 'SELECT count(*) FROM txn'), '63', 'the table works without vigil');

$node->stop;
done_testing();
