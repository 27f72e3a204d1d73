#!/usr/bin/env bash
# Detection beside a publisher that does not run vigil (Amazon RDS): a
# second throwaway cluster publishes a table, the bench cluster subscribes
# to it and watches it.  REPL_SINGLES single-row transactions, 20 ms apart,
# each raising one alert; the lag from the publisher's commit of a row to
# the subscriber's write of its alert, just before its commit (both clocks
# are this machine's; commit timestamps would not do: the apply worker
# commits with the publisher's), p50 and p99, and then rows/s applied and
# scored for one REPL_ROWS-row transaction on the publisher.  No goal: the
# figures say what to expect.
set -euo pipefail
. "$(dirname "$0")/common.bash"

SINGLES=${REPL_SINGLES:-300}
ROWS_COPY=${REPL_ROWS:-200000}
PUB=tmp/bench-publisher
PUB_PORT=$(test/cluster.sh port 54341)
PUB_PSQL="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PUB_PORT -U postgres -d postgres"
cleanup() {
	$PSQL -c "DROP SUBSCRIPTION IF EXISTS bench_sub" -c "DROP TRIGGER IF EXISTS repl_alert_seen ON vigil.alerts" \
		>/dev/null 2>&1 || true
	test/cluster.sh destroy "$PUB"
}
trap cleanup EXIT

test/cluster.sh destroy "$PUB"
test/cluster.sh start "$PUB" "$PUB_PORT"
# as RDS is: the walsender sends only flushed WAL, and without synchronous
# commits that waits for the WAL writer (up to wal_writer_delay)
$PUB_PSQL -c "ALTER SYSTEM SET wal_level = logical" -c "ALTER SYSTEM SET synchronous_commit = on" >/dev/null
test/cluster.sh restart "$PUB" "$PUB_PORT"

table="(id bigint PRIMARY KEY, card text NOT NULL, amount numeric(12, 2) NOT NULL, ts timestamptz NOT NULL,
	committed_at timestamptz NOT NULL DEFAULT clock_timestamp())"
$PUB_PSQL <<SQL
CREATE TABLE repl_txn $table;
CREATE PUBLICATION bench_pub FOR TABLE repl_txn;
SQL
$PSQL <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS repl_txn;
CREATE TABLE repl_txn $table;
SELECT vigil.watch('repl_txn', 'card', 'amount', 'ts') AS watch_id \gset
UPDATE vigil.rules SET enabled = (name = 'amount_limit') WHERE watch_id = :watch_id;
UPDATE vigil.rules SET params = '{"limit": 1000}' WHERE watch_id = :watch_id AND name = 'amount_limit';
-- when each alert is written: a trigger enabled ALWAYS fires in the apply
-- worker too (it sends the writer down its INSERT path, as any trigger does)
CREATE TABLE repl_alert_seen (id bigint, seen_at timestamptz);
CREATE FUNCTION repl_alert_seen() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	INSERT INTO public.repl_alert_seen VALUES (NEW.id, pg_catalog.clock_timestamp());
	RETURN NULL;
END\$\$;
CREATE TRIGGER repl_alert_seen AFTER INSERT ON vigil.alerts FOR EACH ROW EXECUTE FUNCTION repl_alert_seen();
ALTER TABLE vigil.alerts ENABLE ALWAYS TRIGGER repl_alert_seen;
CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 port=$PUB_PORT user=postgres dbname=postgres'
	PUBLICATION bench_pub;
SQL

wait_until "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')" 60

# Lag: one alerting row per transaction, 20 ms apart.  committed_at is taken
# just before the publisher commits the row.
for i in $(seq "$SINGLES"); do
	echo "INSERT INTO repl_txn (id, card, amount, ts) VALUES ($i, 'card-' || $i % 50, 5000, now());"
	echo "SELECT pg_sleep(0.02);"
done | $PUB_PSQL >/dev/null
wait_until "SELECT count(*) >= $SINGLES FROM repl_txn" 600
$PSQL -At -F ' ' -c "
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), count(*)
	FROM (SELECT extract(epoch FROM s.seen_at - t.committed_at) * 1000 AS l
		  FROM vigil.alerts a JOIN repl_alert_seen s ON s.id = a.id
			   JOIN repl_txn t ON t.id = (a.row_ref ->> 'id')::bigint
		  WHERE a.relation = 'repl_txn'::regclass) s" |
	awk '{printf "%-46s p50 %.1f ms  p99 %.1f ms  (%d alerts)\n", "subscriber: publisher commit -> alert", $1, $2, $3}'

# Throughput: one COPY-sized transaction on the publisher, 1% alerting.
$PUB_PSQL -c "CREATE TABLE repl_src AS SELECT $SINGLES + i AS id, 'card-' || i % 5000 AS card,
	(CASE WHEN i % 100 = 0 THEN 5000 ELSE 20 + i % 200 END)::numeric(12, 2) AS amount,
	timestamptz '2025-01-01' + i * interval '1 second' AS ts FROM generate_series(1, $ROWS_COPY) i"
$PSQL -c "DROP TRIGGER repl_alert_seen ON vigil.alerts"
start=$(date +%s.%N)
$PUB_PSQL -c "INSERT INTO repl_txn (id, card, amount, ts) SELECT * FROM repl_src"
committed=$(date +%s.%N)
wait_until "SELECT count(*) >= $((SINGLES + ROWS_COPY)) FROM repl_txn" 600
done_at=$(date +%s.%N)
awk -v n="$ROWS_COPY" -v s="$start" -v c="$committed" -v d="$done_at" \
	'BEGIN {printf "%-46s %d rows  %.1f s after commit  %6.0f rows/s end to end\n", "subscriber: one transaction applied and scored", n, d - c, n / (d - s)}'
