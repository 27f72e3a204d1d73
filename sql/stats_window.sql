-- vigil.stats_agg as a window function: the moving-aggregate mode (rows
-- enter and leave the frame in O(1)) must agree with PostgreSQL's own
-- window aggregates over the same frames.
CREATE EXTENSION vigil;

CREATE FUNCTION close_to(got float8, want float8, tol float8) RETURNS boolean
	LANGUAGE sql IMMUTABLE
	AS $$SELECT (got IS NULL AND want IS NULL) OR abs(got - want) <= tol * abs(want)$$;

-- Cards with per-card amounts at a 1e9 offset, exactly representable as
-- float8 (x) and numeric (xn); the numeric window aggregates are exact.  (The exact
-- standard deviation is sqrt(var_samp(xn)): stddev_samp(numeric) picks a
-- result scale from the magnitude of the data and rounds 1e8-sized results
-- to integers.)
SELECT setseed(0.75);
CREATE TABLE txn AS
SELECT i, i % 5 AS card, i / 5 AS t, 1e9::float8 + k / 1024.0::float8 AS x,
       1e9 + k / 1024.0 AS xn
FROM (SELECT i, floor(random() * 4096)::int AS k FROM generate_series(1, 5000) i) s;

-- Per row: does the window summary agree with count, avg, stddev_samp, min
-- and max over the same frame?  Returns the number of rows that disagree.
CREATE FUNCTION frame_mismatches(frame text, tbl text DEFAULT 'txn') RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*) FILTER (WHERE NOT (
			coalesce(vigil.count(s), 0) = c
			AND close_to(vigil.mean(s), an, 1e-12)
			AND close_to(vigil.stddev(s), sdn, 1e-9)
			AND vigil.min(s) IS NOT DISTINCT FROM mn
			AND vigil.max(s) IS NOT DISTINCT FROM mx))
		FROM (SELECT vigil.stats_agg(x) OVER w AS s, count(x) OVER w AS c,
		             (avg(xn) OVER w)::float8 AS an,
		             sqrt(var_samp(xn) OVER w)::float8 AS sdn,
		             min(x) OVER w AS mn, max(x) OVER w AS mx
		      FROM %I WINDOW w AS (PARTITION BY card ORDER BY t %s)) f$q$,
		tbl, frame) INTO bad;
	RETURN bad;
END$$;

-- The frame the fraud rules use: the card's previous 50 transactions.
SELECT frame_mismatches('ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING') AS prev_50;
SELECT frame_mismatches('ROWS BETWEEN 3 PRECEDING AND CURRENT ROW') AS last_4;
SELECT frame_mismatches('ROWS BETWEEN 500 PRECEDING AND CURRENT ROW') AS last_501;
SELECT frame_mismatches('ROWS UNBOUNDED PRECEDING') AS running;
SELECT frame_mismatches('RANGE BETWEEN 20 PRECEDING AND CURRENT ROW') AS range_20;
SELECT frame_mismatches('GROUPS BETWEEN 5 PRECEDING AND 2 FOLLOWING') AS groups;
SELECT frame_mismatches('ROWS BETWEEN 10 PRECEDING AND 10 FOLLOWING EXCLUDE CURRENT ROW') AS exclude_current;

-- Monotonic amounts: every row leaving the frame is its minimum (or its
-- maximum, descending), the worst case for keeping extremes.
CREATE TABLE rising AS
SELECT i, i % 3 AS card, i AS t, i::float8 * 0.5 AS x, i * 0.5 AS xn
FROM generate_series(1, 3000) i;
CREATE TABLE falling AS
SELECT i, i % 3 AS card, i AS t, -i::float8 * 0.5 AS x, -i * 0.5 AS xn
FROM generate_series(1, 3000) i;
SELECT frame_mismatches('ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING', 'rising') AS rising,
       frame_mismatches('ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING', 'falling') AS falling;

-- Cancellation: huge amounts leave the frame and small ones remain.  An
-- inverse transition that just subtracted would leave M2 made of rounding
-- error; the state notices and the frame is recomputed.
CREATE TABLE spikes AS
SELECT i, 0 AS card, i AS t,
       CASE WHEN i <= 100 THEN 1e8::float8 * (i % 7) ELSE (i % 5)::float8 END AS x,
       CASE WHEN i <= 100 THEN 1e8 * (i % 7) ELSE (i % 5)::numeric END AS xn
FROM generate_series(1, 400) i;
SELECT frame_mismatches('ROWS BETWEEN 20 PRECEDING AND CURRENT ROW', 'spikes') AS spikes;

-- NULL, NaN and infinite amounts are ignored inside frames too.
CREATE TABLE gaps AS
SELECT i, 0 AS card, i AS t,
       CASE WHEN i % 4 = 0 THEN NULL WHEN i % 9 = 0 THEN 'NaN' WHEN i % 11 = 0 THEN 'Infinity'
            ELSE i::float8 END AS x,
       CASE WHEN i % 4 = 0 OR i % 9 = 0 OR i % 11 = 0 THEN NULL ELSE i::numeric END AS xn
FROM generate_series(1, 300) i;
-- (PostgreSQL's own aggregates see the NaN and Infinity rows, so compare
-- against the numeric column that has them as NULL.)
SELECT count(*) FILTER (WHERE NOT (coalesce(vigil.count(s), 0) = c
                                   AND close_to(vigil.mean(s), an, 1e-12)
                                   AND close_to(vigil.stddev(s), sdn, 1e-9)))
       AS gaps_mismatches
FROM (SELECT vigil.stats_agg(x) OVER w AS s, count(xn) OVER w AS c,
             (avg(xn) OVER w)::float8 AS an, sqrt(var_samp(xn) OVER w)::float8 AS sdn
      FROM gaps WINDOW w AS (ORDER BY t ROWS BETWEEN 7 PRECEDING AND CURRENT ROW)) f;

-- Empty frames give NULL, like other aggregates.
SELECT t, vigil.stats_agg(x) OVER (ORDER BY t ROWS BETWEEN 2 PRECEDING AND 1 PRECEDING)
FROM (VALUES (1, 10::float8), (2, 20), (3, 60), (4, NULL)) v(t, x)
ORDER BY t;

DROP TABLE txn, rising, falling, spikes, gaps;
DROP FUNCTION frame_mismatches(text, text), close_to(float8, float8, float8);
DROP EXTENSION vigil;
