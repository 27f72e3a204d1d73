# Detection beside a database that cannot load vigil (Amazon RDS): a
# publisher without vigil, a subscriber with it.  The subscriber's initial
# copy builds profiles without alerting; then rows inserted on the
# publisher (single rows, COPY, transactions of several statements, across
# a publisher restart) are scored on the subscriber with the same alerts
# and profiles as the same statements inserted there directly; a failure
# while scoring is recorded, never blocks the subscription.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'vigil'");
$sub->start;

my $table = q{(id int PRIMARY KEY, card text NOT NULL, amount numeric(12, 2),
	ts timestamptz NOT NULL, merchant text)};
# 30 days of history for 20 cards, a few of them large
my $history = q{SELECT i, 'card-' || i % 20, CASE WHEN i % 97 = 0 THEN 2500 ELSE 20 + (i * 37) % 80 END,
	timestamptz '2025-01-01' + i * interval '1 hour', 'm' || i % 13
	FROM generate_series(1, 720) i};

$pub->safe_psql(
	'postgres', qq{
	CREATE TABLE txn $table;
	INSERT INTO txn $history;
	CREATE PUBLICATION pub FOR TABLE txn;
});

# On the subscriber, txn is watched before the subscription copies it, and
# direct gets the same rows as an application would insert them.
$sub->safe_psql(
	'postgres', qq{
	CREATE EXTENSION vigil;
	CREATE TABLE txn $table;
	CREATE TABLE direct $table;
	INSERT INTO direct $history;
	SELECT vigil.watch('txn', 'card', 'amount', 'ts', merchant_column => 'merchant');
	SELECT vigil.watch('direct', 'card', 'amount', 'ts', merchant_column => 'merchant');
	SELECT vigil.rebuild('direct');
	UPDATE vigil.rules SET params = '{"limit": 1000}', enabled = true WHERE name = 'amount_limit';
});
is( $sub->safe_psql(
		'postgres', q{SELECT tgenabled FROM pg_trigger
		WHERE tgrelid = 'txn'::regclass AND tgname = 'vigil_detect_replicated'}),
	'R',
	'the constraint trigger is enabled REPLICA');

my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION '$connstr application_name=sub' PUBLICATION pub");
$sub->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  or die 'the initial copy did not finish';
$pub->wait_for_catchup('sub');

is($sub->safe_psql('postgres', 'SELECT count(*) FROM txn'), '720', 'the initial copy arrived');
is( $sub->safe_psql(
		'postgres', q{SELECT count(*) FROM vigil.alerts WHERE relation = 'txn'::regclass}),
	'0',
	'the initial copy raised no alerts');
my $profiles = q{SELECT string_agg(p.key || ' ' || vigil.profile_json(p.profile)::text, ',' ORDER BY p.key)
	FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id WHERE w.relation = '%s'::regclass};
is( $sub->safe_psql('postgres', sprintf($profiles, 'txn')),
	$sub->safe_psql('postgres', sprintf($profiles, 'direct')),
	'it built the same profiles as a rebuild of the same rows');

# Live traffic: the same statements on the publisher and into direct.
my @statements = (
	q{INSERT INTO %s VALUES (1001, 'card-1', 40, '2025-02-01 00:00', 'm1')},
	q{INSERT INTO %s VALUES (1002, 'card-2', 1500, '2025-02-01 00:10', 'm2')},
	q{BEGIN;
	  INSERT INTO %1$s SELECT 1002 + i, 'card-' || i % 20, CASE WHEN i % 9 = 0 THEN 1200 + i ELSE 30 + i END,
		timestamptz '2025-02-01 01:00' + i * interval '1 minute', 'm' || i % 13 FROM generate_series(1, 100) i;
	  INSERT INTO %1$s VALUES (1200, 'card-3', 5000, '2025-02-01 03:00', 'm99');
	  INSERT INTO %1$s SELECT 1200 + i, 'card-' || i % 5, 25 + i, timestamptz '2025-02-01 04:00' + i * interval '1 minute',
		'm' || i % 3 FROM generate_series(1, 50) i;
	  COMMIT;},
);
for my $s (@statements)
{
	$pub->safe_psql('postgres', sprintf($s, 'txn'));
	$sub->safe_psql('postgres', sprintf($s, 'direct'));
}

# COPY, across a publisher restart.
my $csv = join('', map { sprintf("%d,card-%d,%d,2025-02-02 %02d:%02d:00+00,m%d\n",
	2000 + $_, $_ % 20, $_ % 10 == 0 ? 3000 : 50, int($_ / 60), $_ % 60, $_ % 7) } 1 .. 300);
$pub->restart;
for my $t ([ $pub, 'txn' ], [ $sub, 'direct' ])
{
	my ($node, $rel) = @$t;
	my ($ret, $out, $err) = $node->psql('postgres', "COPY $rel FROM STDIN (FORMAT csv);\n$csv\\.\n");
	is($ret, 0, "COPY into $rel") or diag($err);
}
$pub->wait_for_catchup('sub');
is( $sub->safe_psql('postgres', 'SELECT (SELECT count(*) FROM txn) || \' \' || (SELECT count(*) FROM direct)'),
	'1173 1173', 'every row arrived, the COPY\'s too');

my $alerts = q{SELECT string_agg(concat_ws(' ', row_ref, key, amount, event_time, score, fired, explanation),
	E'\n' ORDER BY row_ref ->> 'id') FROM vigil.alerts WHERE relation = '%s'::regclass};
my $want = $sub->safe_psql('postgres', sprintf($alerts, 'direct'));
isnt($want, '', 'direct insertion alerted');
is($sub->safe_psql('postgres', sprintf($alerts, 'txn')), $want,
	'the subscriber raised the same alerts as direct insertion of the same rows');
is( $sub->safe_psql('postgres', sprintf($profiles, 'txn')),
	$sub->safe_psql('postgres', sprintf($profiles, 'direct')),
	'and its profiles are the same');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM vigil.verify('txn')}), '0', 'vigil.verify is clean');
is( $sub->safe_psql(
		'postgres', q{SELECT concat_ws(' ', subscription, table_name, state, enabled, worker_running,
		receipt_delay_ms IS NOT NULL, seconds_since_last_message < 60, alerts_last_hour > 0, skipped_last_hour)
		FROM vigil.replication_status}),
	'sub public.txn ready t t t t t 0',
	'vigil.replication_status shows the subscription beside the alerts');

# A failure while scoring (here: alerts cannot be written) is recorded; the
# subscription goes on applying.  (The publisher's restart above counts as
# an apply error already.)
my $errors = q{SELECT apply_error_count FROM pg_stat_subscription_stats WHERE subname = 'sub'};
my $errors_before = $sub->safe_psql('postgres', $errors);
$sub->safe_psql(
	'postgres', q{
	CREATE FUNCTION alerts_fail() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		RAISE EXCEPTION 'no space left for alerts' USING ERRCODE = 'disk_full';
	END$$;
	CREATE TRIGGER fail BEFORE INSERT ON vigil.alerts FOR EACH ROW EXECUTE FUNCTION alerts_fail();
	ALTER TABLE vigil.alerts ENABLE ALWAYS TRIGGER fail;
});
$pub->safe_psql('postgres', q{INSERT INTO txn VALUES (3001, 'card-4', 9000, '2025-02-03 00:00', 'm1')});
$pub->safe_psql('postgres', q{INSERT INTO txn VALUES (3002, 'card-4', 45, '2025-02-03 00:05', 'm1')});
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM txn WHERE id > 3000'),
	'2', 'rows after the failure are applied');
is( $sub->safe_psql('postgres', q{SELECT string_agg(row_ref ->> 'id', ',') FROM vigil.skipped}),
	'3001', 'the row detection failed on is recorded in vigil.skipped');
is($sub->safe_psql('postgres', $errors), $errors_before, 'the apply worker did not fail');

# The files a user copies (examples/rds), as they are: a publication of the
# example schema's transactions, and a subscriber that watches them.
$pub->safe_psql('postgres', 'CREATE DATABASE shop');
$pub->safe_psql(
	'shop', q{
	CREATE TABLE transactions (
		transaction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, trans_num text NOT NULL UNIQUE,
		card_id bigint NOT NULL, merchant_id bigint NOT NULL, category text NOT NULL,
		amount numeric(12, 2) NOT NULL, trans_time timestamptz NOT NULL, lat float8, lon float8,
		is_fraud boolean, fraud_pattern text, received_at timestamptz NOT NULL DEFAULT now(),
		card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED);
	INSERT INTO transactions (trans_num, card_id, merchant_id, category, amount, trans_time, lat, lon)
	SELECT 't' || i, 7, i % 5, 'grocery_pos', 30 + i % 20, timestamptz '2025-03-01' + i * interval '5 hours',
		41.9, -87.6 FROM generate_series(1, 60) i;
});
$pub->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $pub->connstr('shop'), '-f', 'examples/rds/publisher.sql' ],
	'examples/rds/publisher.sql runs');
$sub->safe_psql('postgres', 'CREATE DATABASE fraud');
$sub->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $sub->connstr('fraud'),
	  '-v', 'publisher=' . $pub->connstr . ' dbname=shop', '-f', 'examples/rds/subscriber.sql' ],
	'examples/rds/subscriber.sql runs');
$sub->poll_query_until('fraud',
	"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  or die 'the example subscription did not synchronize';
$pub->safe_psql('shop', q{INSERT INTO transactions (trans_num, card_id, merchant_id, category, amount, trans_time)
	VALUES ('t-big', 7, 99, 'shopping_net', 4800, '2025-03-14 03:00')});
$pub->wait_for_catchup('vigil_transactions');
is( $sub->safe_psql(
		'fraud', q{SELECT string_agg(a.row_ref::text || ' ' || t.trans_num, ',') FROM vigil.alerts a
		JOIN transactions t ON t.transaction_id = (a.row_ref ->> 'transaction_id')::bigint}),
	'{"transaction_id": 61} t-big',
	'the example subscriber alerts on the outlier, and only on it');

done_testing();
