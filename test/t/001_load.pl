# The library loads with and without shared_preload_libraries, survives a
# restart, and vigil.stats values survive pg_dump and pg_restore bit for bit.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->start;

# Without preloading: CREATE EXTENSION loads the library on first use.
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'not preloaded');
$node->safe_psql('postgres', 'CREATE EXTENSION vigil');
is( $node->safe_psql(
		'postgres', 'SELECT vigil.stats_agg(x) FROM generate_series(1, 10) x'),
	'(n:10,mean:5.5,m2:82.5,min:1,max:10)',
	'aggregates work without preloading');

# Detection too, without the shared memory that remembers where profile
# rows are (profile_hint.c); and with it turned off while preloaded, below.
my $detect = q{
	CREATE TABLE txn (id int PRIMARY KEY, card text, amount float8, ts timestamptz);
	SELECT vigil.watch('txn', 'card', 'amount', 'ts');
	INSERT INTO txn VALUES (1, 'a', 10, '2026-11-01');
	INSERT INTO txn VALUES (2, 'a', 11, '2026-11-02');
	INSERT INTO txn VALUES (3, 'a', 12, '2026-11-03');
	SELECT vigil.profile_json(profile) ->> 'n' FROM vigil.profiles;
	DROP TABLE txn;
};
like($node->safe_psql('postgres', $detect),
	qr/\n3$/, 'detection works without preloading');

# Preloaded with pg_cron, as make test and make demo run it.
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vigil,pg_cron'\ncron.database_name = 'postgres'");
$node->restart;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'vigil,pg_cron', 'preloaded');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
is( $node->safe_psql(
		'postgres', 'SELECT vigil.stats_agg(x) FROM generate_series(1, 10) x'),
	'(n:10,mean:5.5,m2:82.5,min:1,max:10)',
	'aggregates work when preloaded');

# Summaries whose doubles need all 17 digits, in an application database
# (pg_cron lives in cron.database_name only, so it stays out of the dumps).
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION vigil');
$node->safe_psql(
	'app', q{
	CREATE TABLE card_stats AS
	SELECT i AS card, vigil.stats_agg(1e9 + sqrt(i * j) / 3) AS s
	FROM generate_series(1, 200) i, generate_series(1, 50) j GROUP BY i;
});
my $fingerprint = q{
	SELECT md5(string_agg(vigil.stats_send(s)::text, ',' ORDER BY card))
	FROM card_stats};
my $before = $node->safe_psql('app', $fingerprint);

# Plain-text dump, restored with psql: goes through text output and input.
my $plain = $node->basedir . '/plain.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('app'), '-f', $plain ],
	'pg_dump (plain)');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
		$node->connstr('restored_plain'), '-f', $plain
	],
	'restore plain dump');
is($node->safe_psql('restored_plain', $fingerprint),
	$before, 'text dump round trip is exact');

# Custom-format dump restored with binary COPY: goes through send and recv.
my $custom = $node->basedir . '/custom.dump';
$node->command_ok(
	[ 'pg_dump', '-Fc', '-d', $node->connstr('app'), '-f', $custom ],
	'pg_dump (custom)');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok(
	[ 'pg_restore', '-d', $node->connstr('restored_custom'), $custom ],
	'pg_restore');
is($node->safe_psql('restored_custom', $fingerprint),
	$before, 'custom dump round trip is exact');

my $copy = $node->basedir . '/stats.bin';
$node->safe_psql('app',
	"COPY card_stats TO '$copy' (FORMAT binary);"
	  . "CREATE TABLE card_stats_bin (LIKE card_stats);"
	  . "COPY card_stats_bin FROM '$copy' (FORMAT binary)");
is( $node->safe_psql(
		'app', $fingerprint =~ s/FROM card_stats/FROM card_stats_bin/r),
	$before,
	'binary COPY round trip is exact');

# DROP EXTENSION removes every object; CREATE brings them back.
$node->safe_psql('app', 'DROP TABLE card_stats, card_stats_bin');
$node->safe_psql('app', 'DROP EXTENSION vigil');
is( $node->safe_psql(
		'app',
		"SELECT count(*) FROM pg_proc WHERE pronamespace = 'vigil'::regnamespace"),
	'0',
	'DROP EXTENSION removes all functions');
$node->safe_psql('app', 'CREATE EXTENSION vigil');
is($node->safe_psql('app', "SELECT vigil.count('(n:3,mean:2,m2:2,min:1,max:3)')"),
	'3', 'CREATE EXTENSION again');

# vigil.profile_location_cache = 0: no shared memory for it, and detection
# asks the primary key every time.
$node->append_conf('postgresql.conf', 'vigil.profile_location_cache = 0');
$node->restart;
is($node->safe_psql('postgres', 'SHOW vigil.profile_location_cache'),
	'0', 'profile location cache off');
like($node->safe_psql('postgres', $detect),
	qr/\n3$/, 'detection works with the profile location cache off');

$node->stop;
done_testing();
