#!/usr/bin/env bash
# vigil.stats_agg(x) against avg(x), stddev_samp(x) on the same rows, in
# serial and parallel plans; and the window mode's cost per row as the frame
# grows (O(1) means the ratio stays near 1).
set -euo pipefail
. "$(dirname "$0")/common.bash"

$PSQL <<SQL
DROP TABLE IF EXISTS bench_amounts;
CREATE TABLE bench_amounts AS
SELECT (i % 1000) AS card, i AS t, 1e9 + random() * 100 AS x
FROM generate_series(1, $ROWS) i;
VACUUM ANALYZE bench_amounts;
SQL

echo "stats_agg on $ROWS rows (median of ${RUNS:-5})"
RUNS=${RUNS:-5}
compare "serial: avg+stddev_samp vs stats_agg" \
	"SET max_parallel_workers_per_gather = 0; SELECT avg(x), stddev_samp(x) FROM bench_amounts" \
	"SET max_parallel_workers_per_gather = 0; SELECT vigil.stats_agg(x) FROM bench_amounts"
compare "parallel: avg+stddev_samp vs stats_agg" \
	"SELECT avg(x), stddev_samp(x) FROM bench_amounts" \
	"SELECT vigil.stats_agg(x) FROM bench_amounts"
compare "grouped by 1000 cards" \
	"SELECT card, avg(x), stddev_samp(x) FROM bench_amounts GROUP BY card" \
	"SELECT card, vigil.stats_agg(x) FROM bench_amounts GROUP BY card"

echo "window frames on 1000000 rows in 10 partitions: frame of 5000 rows vs 50 rows"
RUNS=3 compare "stats_agg OVER (ROWS 50 vs 5000 PRECEDING)" \
	"SELECT count(s) FROM (SELECT vigil.stats_agg(x) OVER (PARTITION BY card % 10 ORDER BY t ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING) s FROM bench_amounts WHERE t <= 1000000) w" \
	"SELECT count(s) FROM (SELECT vigil.stats_agg(x) OVER (PARTITION BY card % 10 ORDER BY t ROWS BETWEEN 5000 PRECEDING AND 1 PRECEDING) s FROM bench_amounts WHERE t <= 1000000) w"
RUNS=3 compare "avg+stddev_samp OVER (ROWS 50 PRECEDING) vs stats_agg" \
	"SELECT count(a) FROM (SELECT avg(x) OVER w a, stddev_samp(x) OVER w FROM bench_amounts WHERE t <= 1000000 WINDOW w AS (PARTITION BY card % 10 ORDER BY t ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING)) w" \
	"SELECT count(s) FROM (SELECT vigil.stats_agg(x) OVER (PARTITION BY card % 10 ORDER BY t ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING) s FROM bench_amounts WHERE t <= 1000000) w"

$PSQL -c "DROP TABLE bench_amounts"
