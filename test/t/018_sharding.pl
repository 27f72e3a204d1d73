# Sharding by card with PostgreSQL's own machinery (examples/sharding): a
# coordinator whose transactions table is partitioned by hash of the card,
# each partition a postgres_fdw foreign table on one of three shards that
# each watch their own table.  The same stream through the coordinator and
# into one watched table gives the same alerts and profiles; each card's
# profile is on exactly one shard; alert ids are unique across shards.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $shards = 3;
my @shard;
for my $k (0 .. $shards - 1)
{
	my $node = PostgreSQL::Test::Cluster->new("shard$k");
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vigil'");
	$node->start;
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		  '-v', "shard=$k", '-v', "shards=$shards", '-f', 'examples/sharding/shard.sql' ],
		"examples/sharding/shard.sql runs on shard $k");
	push @shard, $node;
}

# The coordinator runs vigil too, only to score the same stream in one
# table (single) for comparison.
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "shared_preload_libraries = 'vigil'");
$coord->start;
$coord->safe_psql('postgres',
	'CREATE TABLE shard_nodes (shard int PRIMARY KEY, host text NOT NULL, port int NOT NULL, '
	  . 'dbname text NOT NULL, user_name text NOT NULL, password text)');
for my $k (0 .. $shards - 1)
{
	$coord->safe_psql('postgres',
		sprintf(q{INSERT INTO shard_nodes VALUES (%d, '%s', %d, 'postgres', current_user, NULL)},
			$k, $shard[$k]->host, $shard[$k]->port));
}
$coord->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $coord->connstr('postgres'),
	  '-f', 'examples/sharding/coordinator.sql' ],
	'examples/sharding/coordinator.sql runs');

$coord->safe_psql(
	'postgres', q{
	CREATE EXTENSION vigil;
	CREATE TABLE single (transaction_id bigint PRIMARY KEY, trans_num text NOT NULL, card_id bigint NOT NULL,
		merchant_id bigint NOT NULL, category text NOT NULL, amount numeric(12, 2) NOT NULL,
		trans_time timestamptz NOT NULL, lat float8, lon float8,
		card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED);
	SELECT vigil.watch('single', key_column => 'card_id', amount_column => 'amount',
		time_column => 'trans_time', lat_column => 'lat', lon_column => 'lon',
		merchant_column => 'merchant_id', category_column => 'category',
		card_present_column => 'card_present');
});
my $limit = q{UPDATE vigil.rules SET enabled = true, params = '{"limit": 1500}' WHERE name = 'amount_limit'};
$_->safe_psql('postgres', $limit) for (@shard, $coord);

# The stream: 60 cards, each paying in its own places, a few large amounts;
# in time order, as a processor sends it.
my $stream = q{SELECT i, 't' || i, 1000 + i % 60, i % 60 % 7, (ARRAY['grocery_pos', 'gas_transport', 'shopping_net'])[1 + i % 3],
	CASE WHEN i % 211 = 0 THEN 2000 + i ELSE 20 + (i * 31) % 90 END,
	timestamptz '2025-01-01' + i * interval '13 minutes',
	CASE WHEN i % 3 <> 2 THEN 41.8 + (i % 60) / 100.0 END, CASE WHEN i % 3 <> 2 THEN -87.6 END
	FROM generate_series(%d, %d) i};
my $cols = '(transaction_id, trans_num, card_id, merchant_id, category, amount, trans_time, lat, lon)';
for my $range ([ 1, 2000 ], [ 2001, 2600 ])
{
	for my $rel ('transactions', 'single')
	{
		$coord->safe_psql('postgres', "INSERT INTO $rel $cols " . sprintf($stream, @$range));
	}
}
# and a COPY, through the coordinator's routing
my $csv = join('', map {
	sprintf("%d,c%d,%d,%d,grocery_pos,%d,2025-02-01 %02d:%02d:00+00,,\n",
		3000 + $_, $_, 1000 + $_ % 60, $_ % 5, $_ % 50 == 0 ? 4000 : 35, int($_ / 60), $_ % 60)
} 1 .. 600);
for my $rel ('transactions', 'single')
{
	my ($ret, $out, $err) = $coord->psql('postgres', "COPY $rel $cols FROM STDIN (FORMAT csv);\n$csv\\.\n");
	is($ret, 0, "COPY into $rel") or diag($err);
}

is($coord->safe_psql('postgres', 'SELECT count(*) FROM transactions'), '3200', 'the coordinator sees every row');
my @rows = map { $_->safe_psql('postgres', 'SELECT count(*) FROM transactions') } @shard;
is(scalar(grep { $_ > 0 } @rows), $shards, 'every shard holds some: ' . join(', ', @rows));

my $alerts = q{SELECT string_agg(concat_ws(' ', row_ref, key, amount, event_time, score, rules, reasons),
	E'\n' ORDER BY row_ref, rules) FROM %s};
my $want = $coord->safe_psql('postgres', sprintf($alerts, "vigil.alert_feed WHERE table_name = 'public.single'"));
isnt($want, '', 'the single table alerted');
is($coord->safe_psql('postgres', sprintf($alerts, 'alert_feed')), $want,
	'the shards raised the same alerts, read through the coordinator\'s alert_feed');
is( $coord->safe_psql('postgres', 'SELECT count(*) = count(DISTINCT alert_id) FROM alert_feed'),
	't', 'alert ids are unique across shards');
is( $coord->safe_psql(
		'postgres', q{SELECT count(*) FROM alert_feed WHERE alert_id % 3 <> shard}),
	'0', 'each shard numbers its alerts in its own residue');

my $profiles = q{SELECT string_agg(concat_ws(' ', key, transactions, mean, stddev, recent_mean), ',' ORDER BY key)
	FROM %s};
is( $coord->safe_psql('postgres', sprintf($profiles, 'key_risk')),
	$coord->safe_psql('postgres', sprintf($profiles, "vigil.key_risk WHERE table_name = 'public.single'")),
	'and the same profiles');
is( $coord->safe_psql(
		'postgres', 'SELECT count(*) = count(DISTINCT key) AND count(*) = 60 FROM key_risk'),
	't', 'each card\'s profile is on exactly one shard');
is( $coord->safe_psql(
		'postgres', q{SELECT count(*) FROM key_risk k
		WHERE k.shard <> (SELECT t.shard FROM (SELECT 0 AS shard, card_id FROM transactions_0
			UNION ALL SELECT 1, card_id FROM transactions_1 UNION ALL SELECT 2, card_id FROM transactions_2) t
			WHERE t.card_id = k.key::bigint LIMIT 1)}),
	'0', 'on the shard its rows are routed to');
for my $k (0 .. $shards - 1)
{
	is($shard[$k]->safe_psql('postgres', q{SELECT count(*) FROM vigil.verify('transactions')}),
		'0', "vigil.verify is clean on shard $k");
}

$_->stop for (@shard, $coord);
done_testing();
