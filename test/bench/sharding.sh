#!/usr/bin/env bash
# Sharding by card (examples/sharding): rows/s of one SHARD_ROWS-row
# INSERT ... SELECT through a coordinator (the bench cluster) whose
# transactions are hash partitions on postgres_fdw foreign tables, with 1
# and with 3 shards (throwaway clusters on this machine), beside the same
# INSERT into one watched table on the coordinator.  No goal: every cluster
# shares the same 2 cores, and postgres_fdw sends each shard its rows
# batch_size at a time, a statement per batch.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ROWS_N=${SHARD_ROWS:-100000}
SHARDS=3
shard_ports=()
cleanup() {
	for k in $(seq 0 $((SHARDS - 1))); do
		test/cluster.sh destroy "tmp/bench-shard$k"
	done
}
trap cleanup EXIT

for k in $(seq 0 $((SHARDS - 1))); do
	test/cluster.sh destroy "tmp/bench-shard$k"
	port=$(test/cluster.sh port $((54351 + k)))
	test/cluster.sh start "tmp/bench-shard$k" "$port"
	shard_ports+=("$port")
done

# A database per layout: s1 on shard 0 alone, s3 on each of the three.
setup_layout() {
	local n=$1 db=$2
	$PSQL -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	$PSQL -d "$db" -c "CREATE TABLE shard_nodes (shard int PRIMARY KEY, host text NOT NULL, port int NOT NULL,
		dbname text NOT NULL, user_name text NOT NULL, password text)" >/dev/null
	for k in $(seq 0 $((n - 1))); do
		psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${shard_ports[$k]}" -U postgres -d postgres \
			-c "CREATE DATABASE $db" >/dev/null
		psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${shard_ports[$k]}" -U postgres -d "$db" \
			-v shard="$k" -v shards="$n" -f examples/sharding/shard.sql >/dev/null
		$PSQL -d "$db" -c "INSERT INTO shard_nodes VALUES ($k, '127.0.0.1', ${shard_ports[$k]}, '$db', 'postgres', NULL)" \
			>/dev/null
	done
	$PSQL -d "$db" -f examples/sharding/coordinator.sql >/dev/null
}
setup_layout 1 bench_s1
setup_layout 3 bench_s3
$PSQL <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS shard_single;
CREATE TABLE shard_single (transaction_id bigint PRIMARY KEY, trans_num text NOT NULL, card_id bigint NOT NULL,
	merchant_id bigint NOT NULL, category text NOT NULL, amount numeric(12, 2) NOT NULL,
	trans_time timestamptz NOT NULL, lat float8, lon float8,
	card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED);
SELECT vigil.watch('shard_single', key_column => 'card_id', amount_column => 'amount',
	time_column => 'trans_time', lat_column => 'lat', lon_column => 'lon',
	merchant_column => 'merchant_id', category_column => 'category',
	card_present_column => 'card_present') AS watch_id \gset
SQL

stream="SELECT i, 't' || i, i % 10000, i % 10000 % 97, (ARRAY['grocery_pos', 'gas_transport', 'shopping_net'])[1 + i % 3],
	20 + (i * 31) % 180, timestamptz '2025-01-01' + i * interval '1 second',
	CASE WHEN i % 3 <> 2 THEN 41.8 END, CASE WHEN i % 3 <> 2 THEN -87.6 END
	FROM generate_series(1, $ROWS_N) i"
cols="(transaction_id, trans_num, card_id, merchant_id, category, amount, trans_time, lat, lon)"
single=$(time_query "INSERT INTO shard_single $cols $stream")
one=$(PSQL="$PSQL -d bench_s1" time_query "INSERT INTO transactions $cols $stream")
three=$(PSQL="$PSQL -d bench_s3" time_query "INSERT INTO transactions $cols $stream")
awk -v n="$ROWS_N" -v s="$single" -v a="$one" -v b="$three" \
	'BEGIN {printf "%-46s one table %6.0f rows/s  1 shard %6.0f rows/s  3 shards %6.0f rows/s\n", "coordinator INSERT ... SELECT, " n " rows", n / s * 1000, n / a * 1000, n / b * 1000}'
$PSQL -c "DROP DATABASE bench_s1" -c "DROP DATABASE bench_s3" >/dev/null
