#!/usr/bin/env bash
# The notifier against the loopback SNS endpoint (test/aws/endpoint.py,
# which checks every signature):
#   - latency, alert committed -> accepted by the endpoint, over single-row
#     INSERTs that each raise one alert (goal: p99 <= 100 ms);
#   - throughput, NOTIFY_ALERTS alerts from one statement until the last is
#     accepted (goal: >= 5,000 alerts/s), and the notifier's own CPU time
#     per alert, which bounds what it could do with an endpoint to spare;
#   - inserters beside it: pgbench alerting INSERTs with the endpoint up, with
#     no topic set, and with the endpoint down and 100,000 alerts pending.
# The endpoint runs on the same 2 cores as PostgreSQL (in NOTIFY_ENDPOINTS
# processes, default 2: one Python process verifying every signature is
# slower than the notifier), so the rate is for the pair, not for the
# notifier alone.
set -euo pipefail
. "$(dirname "$0")/common.bash"

ALERTS=${NOTIFY_ALERTS:-50000}
SINGLES=${NOTIFY_SINGLES:-300}
TOPIC=arn:aws:sns:us-east-1:123456789012:vigil-bench
STATE=$(realpath tmp/bench-cluster)/sns
rm -rf "$STATE"
/usr/bin/python3 test/aws/endpoint.py --port 0 --state-dir "$STATE" --topic "$TOPIC" \
	--access-key AKIDBENCH --secret-key bench-secret --no-request-log \
	--processes "${NOTIFY_ENDPOINTS:-2}" &
endpoint=$!
trap 'kill $endpoint 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$STATE/port" ] && break; sleep 0.1; done
SNS_PORT=$(cat "$STATE/port")

$PSQL <<SQL
SET client_min_messages = warning;
ALTER SYSTEM SET vigil.sns_topic_arn = '$TOPIC';
ALTER SYSTEM SET vigil.sns_endpoint = 'http://127.0.0.1:$SNS_PORT/';
ALTER SYSTEM SET vigil.aws_access_key_id = 'AKIDBENCH';
ALTER SYSTEM SET vigil.aws_secret_access_key = 'bench-secret';
ALTER SYSTEM SET vigil.batch_size = ${NOTIFY_BATCH_SIZE:-100};
SELECT pg_reload_conf();
DROP TABLE IF EXISTS notify_txn;
CREATE TABLE notify_txn (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
SELECT vigil.watch('notify_txn', 'card', 'amount', 'ts') AS watch_id \gset
UPDATE vigil.rules SET enabled = (name = 'amount_limit') WHERE watch_id = :watch_id;
UPDATE vigil.rules SET params = '{"limit": 1000}' WHERE watch_id = :watch_id AND name = 'amount_limit';
TRUNCATE vigil.alerts;
SQL

# Latency: one alert per transaction, 20 ms apart.
for i in $(seq "$SINGLES"); do
	echo "INSERT INTO notify_txn VALUES ($i, 'card-$i', 5000, now());"
	echo "SELECT pg_sleep(0.02);"
done | $PSQL >/dev/null
wait_until "SELECT count(*) = 0 FROM vigil.alerts WHERE status <> 'sent'" 60
/usr/bin/python3 - "$STATE/messages.jsonl" "$($PSQL -At -F, -c "SELECT id, extract(epoch FROM created_at) FROM vigil.alerts")" <<'PY'
import json, sys
created = dict(line.split(',') for line in sys.argv[2].split())
lat = sorted(1000 * (json.loads(l)['received_epoch'] - float(created[str(json.loads(json.loads(l)['message'])['alert_id'])]))
             for l in open(sys.argv[1]))
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("%-46s %d alerts  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (goal p99 <= 100 ms)"
      % ("notifier latency, commit -> accepted", len(lat), p(0.5), p(0.99), lat[-1]))
PY

# Throughput: ALERTS alerts from one statement.
$PSQL -c "TRUNCATE vigil.alerts" -c "TRUNCATE notify_txn"
: >"$STATE/messages.jsonl"
notifier=$($PSQL -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vigil notifier'")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$notifier/stat"; }
ticks0=$(cpu_ticks)
start=$(date +%s.%N)
$PSQL -c "INSERT INTO notify_txn SELECT i, 'card-' || i % 1000, 5000, timestamptz '2026-11-21' + i * interval '1 s'
		  FROM generate_series(1, $ALERTS) i"
committed=$(date +%s.%N)
wait_until "SELECT count(*) = 0 FROM vigil.alerts WHERE status <> 'sent'" 60
ticks=$(($(cpu_ticks) - ticks0))
last=$(/usr/bin/python3 -c "import json,sys; print(max(json.loads(l)['received_epoch'] for l in open(sys.argv[1])))" "$STATE/messages.jsonl")
awk -v n="$ALERTS" -v c="$committed" -v s="$start" -v l="$last" \
	'BEGIN {printf "%-46s %d alerts  %.2f s after commit  %6.0f alerts/s  (goal >= 5000/s)\n", "notifier throughput, one statement", n, l - c, n / (l - c)}'
awk -v n="$ALERTS" -v t="$ticks" -v hz="$(getconf CLK_TCK)" \
	'BEGIN {printf "%-46s %.1f us of CPU per alert  (one core: %.0f alerts/s)\n", "notifier worker CPU", 1e6 * t / hz / n, n * hz / t}'

# Inserters beside the notifier: 4 pgbench clients, single-row INSERTs that
# each raise an alert, with the endpoint up (the baseline), with no topic
# set (alerts recorded, the notifier never woken), and with the endpoint
# failing every request and 100,000 alerts pending.  The last two must run
# at the speed of the first (goal: within 5%).
control() { curl -s -X POST "http://127.0.0.1:$SNS_PORT/_control" -d "$1" >/dev/null; }
$PSQL -c "SET client_min_messages = warning" -c "TRUNCATE vigil.alerts" -c "TRUNCATE notify_txn" \
	-c "DROP SEQUENCE IF EXISTS notify_ids" -c "CREATE SEQUENCE notify_ids START 1000000"
cat >"tmp/bench-cluster/notify.sql" <<PGB
INSERT INTO notify_txn SELECT id, 'card-' || id % 1000, 5000, timestamptz '2026-11-21' + id * interval '1 s'
FROM nextval('notify_ids') id;
PGB
case_setup() {
	$PSQL -c "TRUNCATE vigil.alerts" >/dev/null
	control '{"reset": true}'
	case $1 in
	up) $PSQL -c "ALTER SYSTEM SET vigil.sns_topic_arn = '$TOPIC'" -c "SELECT pg_reload_conf()" >/dev/null ;;
	none) $PSQL -c "ALTER SYSTEM SET vigil.sns_topic_arn = ''" -c "SELECT pg_reload_conf()" >/dev/null ;;
	down)
		$PSQL -c "ALTER SYSTEM SET vigil.sns_topic_arn = '$TOPIC'" -c "SELECT pg_reload_conf()" >/dev/null
		control '{"fail_rate": 1.0, "fail_status": 500, "fail_code": "InternalError"}'
		$PSQL -c "INSERT INTO notify_txn SELECT i, 'card-' || i % 1000, 5000, timestamptz '2026-11-21' + i * interval '1 s'
				  FROM generate_series(900000000, 900099999) i" >/dev/null
		;;
	esac
	sleep 1
	$PSQL -c "CHECKPOINT" >/dev/null
}
declare -A runs
for _ in $(seq "${RUNS:-3}"); do
	for c in up none down; do
		case_setup "$c"
		runs[$c]+="$(pgbench -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -T "${PGBENCH_SECONDS:-10}" \
			-f tmp/bench-cluster/notify.sql postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p') "
		[ "$c" = down ] && $PSQL -c "DELETE FROM notify_txn WHERE id BETWEEN 900000000 AND 900099999" >/dev/null
	done
done
control '{"reset": true}'
up=$(echo "${runs[up]}" | tr ' ' '\n' | grep . | median)
none=$(echo "${runs[none]}" | tr ' ' '\n' | grep . | median)
down=$(echo "${runs[down]}" | tr ' ' '\n' | grep . | median)
awk -v u="$up" -v n="$none" -v d="$down" 'BEGIN {
	printf "%-46s endpoint up %6.0f tps  no topic %6.0f tps (%.2f)  endpoint down, 100k pending %6.0f tps (%.2f)\n",
		"pgbench alerting INSERTs, 4 clients", u, n, n / u, d, d / u }'

$PSQL <<SQL >/dev/null
SET client_min_messages = warning;
DROP SEQUENCE notify_ids;
SELECT vigil.unwatch('notify_txn');
DROP TABLE notify_txn;
TRUNCATE vigil.alerts;
ALTER SYSTEM RESET vigil.sns_topic_arn;
ALTER SYSTEM RESET vigil.sns_endpoint;
ALTER SYSTEM RESET vigil.aws_access_key_id;
ALTER SYSTEM RESET vigil.aws_secret_access_key;
ALTER SYSTEM RESET vigil.batch_size;
SELECT pg_reload_conf();
SQL
