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
#     against one alerting on 0.1%, in one interleaved comparison;
#   - a learned model: vigil.train on the stream with a label (2 threads),
#     and the extra time per row of scoring with it (vigil.train's default
#     size), COPY into a table with the model active against one without.
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

# A learned model of the default size, trained on the first stream with a
# label (amounts far above the card's median, and a little noise), copied
# to a second watch of the same columns and activated there with its rule
# set never to fire: the two COPYs then differ only in computing each
# row's features and walking the trees.
$PSQL <<SQL >/dev/null
SET client_min_messages = warning;
CREATE TABLE tr_labelled (LIKE tr_plain INCLUDING ALL, fraud boolean);
SELECT vigil.watch('tr_labelled', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category');
INSERT INTO tr_labelled
SELECT s.*, s.amount > 4 * k.median OR random() < 0.001
FROM tr_src s JOIN tr_cards k ON 'card-' || k.c = s.card WHERE s.id <= $N;
CREATE TABLE tr_modelled (LIKE tr_plain INCLUDING ALL);
SELECT vigil.watch('tr_modelled', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category');
SQL
set_rate 0.001
$PSQL -c "UPDATE vigil.rules r SET enabled = true, params = jsonb_build_object('limit', $(limit_for 0.001))
		  FROM vigil.watches w WHERE w.id = r.watch_id AND w.relation = 'tr_modelled'::regclass
		  AND r.name = 'amount_limit'" >/dev/null
train_ms=$($PSQL <<'SQL' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sed -n 1p
SET vigil.train_threads = 2;
SET client_min_messages = warning;
\timing on
SELECT vigil.train('tr_labelled', 'fraud') AS model \gset
\timing off
INSERT INTO vigil.models (watch_id, label_column, first_event, validation_from, last_event,
						  train_rows, features, categories, params, validation, trees)
SELECT w.id, m.label_column, m.first_event, m.validation_from, m.last_event, m.train_rows,
	   m.features, m.categories, m.params, m.validation, m.trees
FROM vigil.models m, vigil.watches w
WHERE m.id = :model AND w.relation = 'tr_modelled'::regclass;
SELECT count(*) FROM vigil.activate_model((SELECT max(id) FROM vigil.models)) \gset
UPDATE vigil.rules r SET params = '{"threshold": 0.999999}' FROM vigil.watches w
WHERE w.id = r.watch_id AND w.relation = 'tr_modelled'::regclass AND r.kind = 'model';
SQL
)
$PSQL -At -F ' ' -c "SELECT train_rows, validation ->> 'rows', params ->> 'rounds', params ->> 'max_depth'
					 FROM vigil.models ORDER BY id DESC LIMIT 1" |
	awk -v ms="$train_ms" '{printf "%-46s %.1f s (%d rows trained on, %d held out; %d trees of depth %d)\n", "vigil.train, 2 threads", ms / 1000, $1, $2, $3, $4}'
model_in_place="TRUNCATE tr_watched, tr_modelled, vigil.profiles, vigil.alerts, vigil.skipped; COPY tr_watched FROM '$DATA' (FORMAT csv); COPY tr_modelled FROM '$DATA' (FORMAT csv); TRUNCATE vigil.alerts; CHECKPOINT"
line=$(RUNS=${RUNS:-3} compare "COPY, without vs with a model" \
	"COPY tr_watched FROM '$NEXT' (FORMAT csv)" \
	"COPY tr_modelled FROM '$NEXT' (FORMAT csv)" "$model_in_place")
echo "$line"
echo "$line" | awk -v n="$N" '{split($0, f, " ms"); k = split(f[1], a, " "); lo = a[k]; m = split(f[2], b, " "); hi = b[m];
	printf "%-46s %.2f us per row\n", "extra time per row, model", 1000 * (hi - lo) / n}'
$PSQL -c "SET client_min_messages = warning" -c "SELECT vigil.unwatch('tr_labelled')" \
	-c "SELECT vigil.unwatch('tr_modelled')" -c "DROP TABLE tr_labelled, tr_modelled" >/dev/null

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
