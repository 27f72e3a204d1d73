#!/usr/bin/env bash
# Detection's cost on traffic that looks real, as ratios to the same work on
# an unwatched table in the same run: every column watched (location,
# merchant, category), amounts heavy-tailed around each card's own median,
# each card with its own few merchants and categories near home, and
# alerts at three rates, 0.1%, 1% and 5%, set with amount_limit at that
# quantile of the amounts (the default rules, also on, add what they find
# in this stream: the rate each run measured is printed beside it).
#   - COPY of DETECT_ROWS rows over 10,000 cards whose profiles are in place;
#   - pgbench single-row INSERTs from 4 clients;
#   - the extra time per alert: COPY into a table alerting on 5% of rows
#     against one alerting on 0.1%, in one interleaved comparison.
set -euo pipefail
. "$(dirname "$0")/common.bash"

N=${DETECT_ROWS:-1000000}
DATA="$(realpath tmp/bench-cluster)/traffic.csv"
NEXT="$(realpath tmp/bench-cluster)/traffic-next.csv"	# the same cards, later
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}

# Card c buys every 1000 s (one row every 100 ms, cards in turn), at one of
# its ~5 usual merchants (a new one now and then), mostly in its 2 usual
# categories, within ~10 km of home, amounts lognormal around its median.
$PSQL <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS tr_plain, tr_watched, tr_src, tr_cards;
CREATE TABLE tr_cards AS
SELECT c, exp(2.5 + random() * 2.5) AS median, 40 + random() * 15 AS lat, -5 + random() * 20 AS lon
FROM generate_series(0, 9999) c;
CREATE TABLE tr_src AS
SELECT i AS id, 'card-' || k.c AS card,
	   round((k.median * exp(0.7 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::numeric, 2)
		   AS amount,
	   timestamptz '2026-11-01' + i * interval '100 ms' AS ts,
	   k.lat + (random() - 0.5) * 0.15 AS lat, k.lon + (random() - 0.5) * 0.15 AS lon,
	   'm' || CASE WHEN random() < 0.02 THEN (random() * 50000)::int
				   ELSE (k.c * 7 + (random() ^ 2 * 5)::int) % 50000 END AS merchant,
	   'cat' || (k.c + (random() ^ 4 * 6)::int) % 16 AS category
FROM generate_series(1, 2 * $N) i JOIN tr_cards k ON k.c = i % 10000;
ALTER TABLE tr_src ADD PRIMARY KEY (id);
COPY (SELECT * FROM tr_src WHERE id <= $N ORDER BY id) TO '$DATA' (FORMAT csv);
COPY (SELECT * FROM tr_src WHERE id > $N ORDER BY id) TO '$NEXT' (FORMAT csv);
CREATE TABLE tr_plain (id bigint PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz,
					   lat float8, lon float8, merchant text, category text);
CREATE TABLE tr_watched (LIKE tr_plain INCLUDING ALL);
SELECT vigil.watch('tr_watched', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category') \gset
UPDATE vigil.rules SET enabled = true WHERE name = 'amount_limit';
ANALYZE tr_src;
SQL

# The amount_limit giving alert rate $1 (a fraction) on the stream.
limit_for() {
	$PSQL -At -c "SELECT percentile_disc(1 - $1) WITHIN GROUP (ORDER BY amount) FROM tr_src"
}
set_rate() {
	$PSQL -c "UPDATE vigil.rules SET params = jsonb_build_object('limit', $(limit_for "$1"))
			  WHERE name = 'amount_limit'" >/dev/null
}

reset_tables="TRUNCATE tr_plain, tr_watched, vigil.profiles, vigil.alerts, vigil.skipped"
profiles_in_place="$reset_tables; COPY tr_plain FROM '$DATA' (FORMAT csv); COPY tr_watched FROM '$DATA' (FORMAT csv); TRUNCATE vigil.alerts; CHECKPOINT"

echo "traffic: COPY of $N rows over 10,000 cards with profiles, every column watched (median of ${RUNS:-3})"
for rate in 0.001 0.01 0.05; do
	set_rate "$rate"
	line=$(RUNS=${RUNS:-3} compare "COPY, $(awk -v r="$rate" 'BEGIN {printf "%g%%", r * 100}') amount_limit" \
		"COPY tr_plain FROM '$NEXT' (FORMAT csv)" \
		"COPY tr_watched FROM '$NEXT' (FORMAT csv)" "$profiles_in_place")
	alerts=$($PSQL -At -c "SELECT count(*) FROM vigil.alerts")
	echo "$line  alerts $(awk -v a="$alerts" -v n="$N" 'BEGIN {printf "%.2f%%", 100 * a / n}')"
done

# The extra time per alert: the same COPY into two watched tables that
# differ only in the share of rows over their amount_limit (0.1% and 5%),
# timed in turn in one comparison, so the machine's pace between runs
# cannot pass for the alerts' cost.
$PSQL -c "CREATE TABLE tr_alerting (LIKE tr_plain INCLUDING ALL)" \
	-c "SELECT vigil.watch('tr_alerting', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category')" >/dev/null
set_rate 0.001
$PSQL -c "UPDATE vigil.rules r SET enabled = true, params = jsonb_build_object('limit', $(limit_for 0.05))
		  FROM vigil.watches w WHERE w.id = r.watch_id AND w.relation = 'tr_alerting'::regclass
		  AND r.name = 'amount_limit'" >/dev/null
both_in_place="TRUNCATE tr_watched, tr_alerting, vigil.profiles, vigil.alerts, vigil.skipped; COPY tr_watched FROM '$DATA' (FORMAT csv); COPY tr_alerting FROM '$DATA' (FORMAT csv); TRUNCATE vigil.alerts; CHECKPOINT"
line=$(RUNS=${RUNS:-3} compare "COPY, 0.1% vs 5% over amount_limit" \
	"COPY tr_watched FROM '$NEXT' (FORMAT csv)" \
	"COPY tr_alerting FROM '$NEXT' (FORMAT csv)" "$both_in_place")
echo "$line"
# each setup forgets the other table's alerts: count both from one more pair
$PSQL -c "$both_in_place" -c "COPY tr_watched FROM '$NEXT' (FORMAT csv)" \
	-c "COPY tr_alerting FROM '$NEXT' (FORMAT csv)" >/dev/null
$PSQL -At -F ' ' -c "SELECT count(*) FILTER (WHERE relation = 'tr_watched'::regclass),
						   count(*) FILTER (WHERE relation = 'tr_alerting'::regclass) FROM vigil.alerts" |
	awk -v line="$line" '{split(line, f, " ms"); n = split(f[1], a, " "); lo = a[n]; m = split(f[2], b, " "); hi = b[m];
		printf "%-46s %.1f us per alert (%d more alerts)\n", "extra time per alert, COPY", 1000 * (hi - lo) / ($2 - $1), $2 - $1}'
$PSQL -c "DROP TABLE tr_alerting" >/dev/null

echo "traffic: pgbench single-row INSERTs, 4 clients, ${PGBENCH_SECONDS}s each (median of ${RUNS:-3})"
$PSQL -c "SET client_min_messages = warning" -c "DROP SEQUENCE IF EXISTS tr_ids" -c "CREATE SEQUENCE tr_ids START $((2 * N + 1))"
# TPS of single-row INSERTs into table $1: the stream's rows again, under
# new ids and later times, after a checkpoint.
tps() {
	cat >"tmp/bench-cluster/traffic.sql" <<PGB
INSERT INTO $1
SELECT n.id, s.card, s.amount, timestamptz '2026-11-01' + n.id * interval '100 ms',
	   s.lat, s.lon, s.merchant, s.category
FROM (SELECT nextval('tr_ids') AS id) n JOIN tr_src s ON s.id = n.id % $((2 * N)) + 1;
PGB
	$PSQL -c "CHECKPOINT" >/dev/null
	pgbench -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -T "$PGBENCH_SECONDS" \
		-f "tmp/bench-cluster/traffic.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
$PSQL -c "$profiles_in_place" >/dev/null
for rate in 0.001 0.01 0.05; do
	set_rate "$rate"
	$PSQL -c "TRUNCATE tr_plain, tr_watched, vigil.alerts" >/dev/null
	plain=()
	watched=()
	for _ in $(seq "${RUNS:-3}"); do
		plain+=("$(tps tr_plain)")
		watched+=("$(tps tr_watched)")
	done
	p=$(printf '%s\n' "${plain[@]}" | median)
	w=$(printf '%s\n' "${watched[@]}" | median)
	alerts=$($PSQL -At -c "SELECT round(100.0 * count(*) / greatest(1, (SELECT count(*) FROM tr_watched)), 2) FROM vigil.alerts")
	awk -v p="$p" -v w="$w" -v r="$rate" -v a="$alerts" \
		'BEGIN {printf "%-46s unwatched %7.0f tps  watched %7.0f tps  ratio %.2f  alerts %s%%\n", sprintf("pgbench INSERT, %g%% amount_limit", r * 100), p, w, w / p, a}'
done

$PSQL -c "DROP TABLE tr_plain, tr_watched, tr_src, tr_cards" -c "DROP SEQUENCE tr_ids"
rm -f "$DATA" "$NEXT"
