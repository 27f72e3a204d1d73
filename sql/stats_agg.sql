-- vigil.stats_agg and vigil.rollup: accuracy against PostgreSQL's own
-- aggregates, grouped, parallel, and the handling of NULL, NaN, infinities
-- and overflow.
CREATE EXTENSION vigil;

-- got is within tol relative of want (both NULL counts as agreeing).
CREATE FUNCTION close_to(got float8, want float8, tol float8) RETURNS boolean
	LANGUAGE sql IMMUTABLE
	AS $$SELECT (got IS NULL AND want IS NULL) OR abs(got - want) <= tol * abs(want)$$;

-- Values exactly representable both as float8 (x) and numeric (xn), so the
-- numeric aggregates give the exact answer.  (A plain x::numeric cast keeps
-- only 15 digits, which at 1e9 would throw the noise away.)  Groups have
-- unequal sizes.
SELECT setseed(0.25);
CREATE TABLE plain_data AS
SELECT i, g, k / 64.0::float8 - 3000 AS x, k / 64.0 - 3000 AS xn
FROM (SELECT i, (i * i) % 7 AS g, floor(random() * 1e6)::int AS k
      FROM generate_series(1, 30000) i) s;
CREATE TABLE offset_data AS
SELECT i, g, 1e9::float8 + k / 1024.0::float8 AS x, 1e9 + k / 1024.0 AS xn
FROM (SELECT i, (i * i) % 7 AS g, floor(random() * 1024)::int AS k
      FROM generate_series(1, 30000) i) s;
ANALYZE plain_data, offset_data;

-- Against avg, stddev_samp, min and max on float8, and against the exact
-- numeric answers.  At a 1e9 offset float8 stddev_samp itself can be off
-- by more than 1e-9, so there the check is: within 1e-9 of it, or closer to
-- the exact answer than it is.
CREATE VIEW checks AS
SELECT data, g, vigil.count(s) = c AS count_ok,
       close_to(vigil.mean(s), a, 1e-12) AS mean_vs_avg,
       close_to(vigil.stddev(s), sd, 1e-9)
         OR abs(vigil.stddev(s) - sdn) < abs(sd - sdn) AS sd_vs_stddev_samp,
       close_to(vigil.mean(s), an, 1e-12) AS mean_exact,
       close_to(vigil.stddev(s), sdn, 1e-12) AS sd_exact,
       vigil.min(s) = mn AND vigil.max(s) = mx AS min_max_ok
FROM (SELECT data, g, vigil.stats_agg(x) AS s, count(x) AS c, avg(x) AS a,
             stddev_samp(x) AS sd, avg(xn)::float8 AS an,
             sqrt(var_samp(xn))::float8 AS sdn, min(x) AS mn, max(x) AS mx
      FROM (SELECT 'plain' AS data, g, x, xn FROM plain_data
            UNION ALL
            SELECT 'offset 1e9', g, x, xn FROM offset_data) d
      GROUP BY data, ROLLUP (g)) t;

-- Serial plans, grouped and ungrouped (the NULL g row).
SET max_parallel_workers_per_gather = 0;
SELECT * FROM checks ORDER BY data, g;

-- Parallel plans: workers build partial states, the leader combines them.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT vigil.stats_agg(x) FROM offset_data;
EXPLAIN (COSTS OFF) SELECT g, vigil.stats_agg(x) FROM offset_data GROUP BY g;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT vigil.stats_agg(x) FROM offset_data;
SELECT * FROM checks ORDER BY data, g;

-- rollup of per-group summaries equals one pass over all rows, in parallel
-- too.
CREATE TABLE group_stats AS
SELECT i % 500 AS g, vigil.stats_agg(x) AS s FROM offset_data GROUP BY i % 500;
ANALYZE group_stats;
EXPLAIN (COSTS OFF) SELECT vigil.rollup(s) FROM group_stats;
SELECT vigil.count(r) = 30000 AS count_ok,
       close_to(vigil.mean(r), (SELECT avg(xn)::float8 FROM offset_data), 1e-12) AS mean_exact,
       close_to(vigil.stddev(r), (SELECT sqrt(var_samp(xn))::float8 FROM offset_data), 1e-9) AS sd_exact,
       vigil.min(r) = (SELECT min(x) FROM offset_data) AS min_ok,
       vigil.max(r) = (SELECT max(x) FROM offset_data) AS max_ok
FROM (SELECT vigil.rollup(s) AS r FROM group_stats) t;
RESET ALL;

-- Merging two unequal halves equals one pass.
SELECT close_to(vigil.mean(r), vigil.mean(a), 1e-15) AS mean_same,
       close_to(vigil.variance(r), vigil.variance(a), 1e-13) AS var_same,
       vigil.count(r) = vigil.count(a) AND vigil.min(r) = vigil.min(a)
         AND vigil.max(r) = vigil.max(a) AS rest_same
FROM (SELECT vigil.rollup(s) AS r
      FROM (SELECT vigil.stats_agg(x) FROM plain_data WHERE i <= 10
            UNION ALL
            SELECT vigil.stats_agg(x) FROM plain_data WHERE i > 10) h(s)) t,
     (SELECT vigil.stats_agg(x) AS a FROM plain_data) u;

-- Order of input does not matter beyond rounding.
SELECT close_to(vigil.stddev(a), vigil.stddev(b), 1e-13) AS order_independent
FROM (SELECT vigil.stats_agg(x ORDER BY x) AS a, vigil.stats_agg(x ORDER BY x DESC) AS b
      FROM offset_data) t;

-- Identical values give an exact zero spread, even at large magnitude.
SELECT vigil.stats_agg(0.1::float8) FROM generate_series(1, 1000);
SELECT vigil.stats_agg(1e9 + 0.1::float8) FROM generate_series(1, 1000);

-- Integer and numeric columns work through the implicit casts to float8.
SELECT vigil.stats_agg(i) FROM generate_series(1, 4) i;
SELECT vigil.stats_agg(v) FROM (VALUES (1.5::numeric), (2.5)) t(v);

-- NULLs are ignored like every aggregate ignores them; so are NaN and
-- infinities, which would otherwise poison the summary.
SELECT vigil.stats_agg(x)
FROM (VALUES (1::float8), (NULL), ('NaN'), ('Infinity'), ('-Infinity'), (3)) t(x);
SELECT vigil.stats_agg(x) IS NULL AS no_finite_input
FROM (VALUES (NULL::float8), ('NaN'), ('Infinity')) t(x);
SELECT vigil.stats_agg(x) IS NULL AS no_rows FROM plain_data WHERE false;
SELECT vigil.rollup(s)
FROM (VALUES ('(n:1,mean:1,m2:0,min:1,max:1)'::vigil.stats), (NULL),
             ('(n:1,mean:3,m2:0,min:3,max:3)')) t(s);
SELECT vigil.rollup(s) IS NULL AS no_rows FROM group_stats WHERE false;

-- A spread too large for float8 is an error, not an infinite summary.
SELECT vigil.stats_agg(x) FROM (VALUES (1e308::float8), (-1e308)) t(x);
SELECT vigil.rollup(s)
FROM (VALUES ('(n:1,mean:1e308,m2:0,min:1e308,max:1e308)'::vigil.stats),
             ('(n:1,mean:-1e308,m2:0,min:-1e308,max:-1e308)')) t(s);

DROP VIEW checks;
DROP TABLE plain_data, offset_data, group_stats;
DROP FUNCTION close_to(float8, float8, float8);
DROP EXTENSION vigil;
