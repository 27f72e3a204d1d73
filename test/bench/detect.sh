#!/usr/bin/env bash
# Detection's cost on the ingestion path, as ratios to the same work on an
# unwatched table in the same run:
#   - COPY of DETECT_ROWS transactions over 10,000 cards (goal <= 1.3x), for
#     new cards and for cards that already have profiles;
#   - the hand-written PL/pgSQL row trigger doing only a z-score, for scale;
#   - pgbench single-row INSERTs from 4 clients (goal >= 80% of the TPS).
# Both are the same stream, with event times like the card traffic they
# stand for: one transaction every 100 ms, cards in turn (each card every
# 1000 s), whatever the speed it is inserted at; detection runs on event
# time, so stamping rows with now() would make every card look like it buys
# every second, and the velocity rule would rightly flag most of them.
set -euo pipefail
. "$(dirname "$0")/common.bash"

N=${DETECT_ROWS:-1000000}
DATA="$(realpath tmp/bench-cluster)/txn.csv"
NEXT="$(realpath tmp/bench-cluster)/txn-next.csv"	# the same cards, later
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}

$PSQL <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS txn_plain, txn_watched, txn_plpgsql, txn_src;
CREATE TABLE txn_src AS
SELECT i AS id, 'card-' || (i % 10000) AS card,
	   round((20 + random() * 80)::numeric, 2) AS amount,
	   timestamptz '2026-11-01' + i * interval '100 ms' AS ts,
	   'm' || (i % 50) AS merchant
FROM generate_series(1, 2 * $N) i;
COPY (SELECT * FROM txn_src WHERE id <= $N) TO '$DATA' (FORMAT csv);
COPY (SELECT * FROM txn_src WHERE id > $N) TO '$NEXT' (FORMAT csv);
CREATE TABLE txn_plain (id bigint PRIMARY KEY, card text, amount numeric(12, 2),
						ts timestamptz, merchant text);
CREATE TABLE txn_watched (LIKE txn_plain INCLUDING ALL);
CREATE TABLE txn_plpgsql (LIKE txn_plain INCLUDING ALL);
SELECT vigil.watch('txn_watched', 'card', 'amount', 'ts', merchant_column => 'merchant') \gset

-- The hand-written alternative: a row trigger keeping a running z-score.
CREATE TABLE plpgsql_stats (card text PRIMARY KEY, n bigint, mean float8, m2 float8);
CREATE FUNCTION plpgsql_zscore() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE
	s plpgsql_stats;
	d float8;
BEGIN
	SELECT * INTO s FROM plpgsql_stats WHERE card = NEW.card FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO plpgsql_stats VALUES (NEW.card, 1, NEW.amount, 0);
		RETURN NULL;
	END IF;
	IF s.n >= 10 AND s.m2 > 0 AND (NEW.amount - s.mean) / sqrt(s.m2 / (s.n - 1)) > 3 THEN
		RAISE DEBUG 'alert %', NEW.id;
	END IF;
	d := NEW.amount - s.mean;
	UPDATE plpgsql_stats SET n = s.n + 1, mean = s.mean + d / (s.n + 1),
		m2 = s.m2 + d * (NEW.amount - (s.mean + d / (s.n + 1))) WHERE card = NEW.card;
	RETURN NULL;
END\$\$;
CREATE TRIGGER zscore AFTER INSERT ON txn_plpgsql FOR EACH ROW EXECUTE FUNCTION plpgsql_zscore();
SQL

reset_tables="TRUNCATE txn_plain, txn_watched, txn_plpgsql, plpgsql_stats, vigil.profiles, vigil.alerts"

echo "detection on COPY of $N rows over 10,000 cards (median of ${RUNS:-3})"
# Every timed COPY starts after a checkpoint, so that none pays for the
# dirty buffers and WAL of the one before it.
RUNS=${RUNS:-3} compare "COPY: unwatched vs watched table" \
	"COPY txn_plain FROM '$DATA' (FORMAT csv)" \
	"COPY txn_watched FROM '$DATA' (FORMAT csv)" "$reset_tables; CHECKPOINT"
$PSQL -c "SELECT count(*) AS alerts, (SELECT count(*) FROM vigil.profiles) AS profiles FROM vigil.alerts"
# The usual case: the cards already have profiles (loaded, untimed, by the
# setup), and the next N transactions come in.
RUNS=${RUNS:-3} compare "COPY, cards with profiles: unwatched vs watched" \
	"COPY txn_plain FROM '$NEXT' (FORMAT csv)" \
	"COPY txn_watched FROM '$NEXT' (FORMAT csv)" \
	"$reset_tables; COPY txn_plain FROM '$DATA' (FORMAT csv); COPY txn_watched FROM '$DATA' (FORMAT csv); CHECKPOINT"
RUNS=1 compare "COPY: unwatched vs PL/pgSQL z-score row trigger" \
	"COPY txn_plain FROM '$DATA' (FORMAT csv)" \
	"COPY txn_plpgsql FROM '$DATA' (FORMAT csv)" "$reset_tables"

echo "pgbench: single-row INSERTs, 4 clients, ${PGBENCH_SECONDS}s each, over 10,000 cards (median of ${RUNS:-3})"
$PSQL -c "$reset_tables"
$PSQL -c "CREATE SEQUENCE IF NOT EXISTS bench_ids"
# TPS of single-row INSERTs into table $1, after a checkpoint, so that one
# run does not pay for the dirty buffers of the run before it.
tps() {
	cat >"tmp/bench-cluster/insert.sql" <<PGB
\set cents random(2000, 10000)
INSERT INTO $1 SELECT id, 'card-' || id % 10000, :cents / 100.0,
	timestamptz '2026-11-01' + id * interval '100 ms', 'm' || id % 50
FROM nextval('bench_ids') id;
PGB
	$PSQL -c "CHECKPOINT" >/dev/null
	pgbench -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -T "$PGBENCH_SECONDS" \
		-f "tmp/bench-cluster/insert.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# Interleaved, as the COPYs are, after an untimed run of each that also
# creates the cards' profiles: the measure is a card's next transaction.
PGBENCH_SECONDS=5 tps txn_plain >/dev/null
PGBENCH_SECONDS=5 tps txn_watched >/dev/null
plain=()
watched=()
for _ in $(seq "${RUNS:-3}"); do
	plain+=("$(tps txn_plain)")
	watched+=("$(tps txn_watched)")
done
p=$(printf '%s\n' "${plain[@]}" | median)
w=$(printf '%s\n' "${watched[@]}" | median)
awk -v p="$p" -v w="$w" \
	'BEGIN {printf "%-46s unwatched %7.0f tps  watched %7.0f tps  ratio %.2f\n", "pgbench INSERT, 4 clients", p, w, w / p}'
printf '  runs (unwatched watched):'
for i in "${!plain[@]}"; do printf ' %.0f %.0f,' "${plain[$i]}" "${watched[$i]}"; done
echo

# A statement's memory is bounded: detection works in batches (of 1M rows, or
# 16,384 of one key) and writes alerts as it goes, so
# the backend's private memory at the peak of a COPY stays flat as the COPY
# grows (shared buffers are left out: they are not the statement's).
peak_private_kb() {
	$PSQL -c "TRUNCATE txn_watched, vigil.profiles, vigil.alerts"
	$PSQL -c "COPY (SELECT i, 'card-' || i % 10000, 20 + i % 80, timestamptz '2026-11-01' + i * interval '100 ms', 'm1'
				   FROM generate_series(1, $1) i) TO '$DATA' (FORMAT csv)"
	$PSQL -c "COPY txn_watched FROM '$DATA' (FORMAT csv)" &
	local copy=$! pid="" peak=0 kb
	while [ -z "$pid" ] && kill -0 "$copy" 2>/dev/null; do
		pid=$($PSQL -At -c "SELECT pid FROM pg_stat_activity
							WHERE query LIKE 'COPY txn_watched FROM%' AND state = 'active'")
	done
	while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
		kb=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		[ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
		sleep 0.1
	done
	wait "$copy"
	echo "$peak"
}
small=$(peak_private_kb "$N")
large=$(peak_private_kb $((3 * N)))
awk -v n="$N" -v s="$small" -v l="$large" \
	'BEGIN {printf "%-46s %d rows %6.0f MB  %d rows %6.0f MB  ratio %.2f\n", "peak backend memory, watched COPY", n, s / 1024, 3 * n, l / 1024, l / s}'

$PSQL -c "DROP TABLE txn_plain, txn_watched, txn_plpgsql, txn_src, plpgsql_stats" \
	-c "DROP FUNCTION plpgsql_zscore()" -c "DROP SEQUENCE bench_ids"
rm -f "$DATA" "$NEXT"
