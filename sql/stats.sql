-- The vigil.stats type: text I/O, validation, binary I/O and accessors.
CREATE EXTENSION vigil;

-- Text form round trip, including doubles that need all their digits.
SELECT '(n:3,mean:2,m2:2,min:1,max:3)'::vigil.stats;
SELECT '( n : 2 , mean : 0.30000000000000004 , m2 : 0.005000000000000001 , min : 0.25 , max : 0.35000000000000003 )'::vigil.stats;
SELECT s::text::vigil.stats::text = s::text AS round_trips
FROM (SELECT vigil.stats_agg(x / 7.0) AS s FROM generate_series(1, 100) x) t;

-- Accessors.
SELECT vigil.count(s), vigil.mean(s), vigil.variance(s), vigil.stddev(s),
       vigil.min(s), vigil.max(s), vigil.zscore(s, 4)
FROM (SELECT '(n:3,mean:2,m2:2,min:1,max:3)'::vigil.stats AS s) t;

-- One value: no spread, so variance, stddev and zscore are NULL.
SELECT vigil.count(s), vigil.mean(s), vigil.variance(s) IS NULL AS var_null,
       vigil.stddev(s) IS NULL AS sd_null, vigil.zscore(s, 5) IS NULL AS z_null
FROM (SELECT '(n:1,mean:5,m2:0,min:5,max:5)'::vigil.stats AS s) t;

-- Identical values: zscore is NULL rather than a division by zero.
SELECT vigil.stddev(s), vigil.zscore(s, 7) IS NULL AS z_null
FROM (SELECT '(n:4,mean:5,m2:0,min:5,max:5)'::vigil.stats AS s) t;

-- zscore of NaN and infinities follows float arithmetic.
SELECT vigil.zscore(s, 'NaN'), vigil.zscore(s, 'Infinity'), vigil.zscore(s, '-Infinity')
FROM (SELECT '(n:3,mean:2,m2:2,min:1,max:3)'::vigil.stats AS s) t;

-- Malformed text.
SELECT ''::vigil.stats;
SELECT '(n:3,mean:2,m2:2,min:1)'::vigil.stats;
SELECT '(n:3,mean:2,m2:2,min:1,max:3) junk'::vigil.stats;
SELECT '(n:x,mean:2,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(n:3,mean:two,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(mean:2,n:3,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(n:99999999999999999999,mean:2,m2:2,min:1,max:3)'::vigil.stats;

-- Well-formed text that no data set could produce.
SELECT '(n:0,mean:0,m2:0,min:0,max:0)'::vigil.stats;
SELECT '(n:-1,mean:2,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(n:3,mean:NaN,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(n:3,mean:2,m2:Infinity,min:1,max:3)'::vigil.stats;
SELECT '(n:3,mean:2,m2:2,min:3,max:1)'::vigil.stats;
SELECT '(n:3,mean:5,m2:2,min:1,max:3)'::vigil.stats;
SELECT '(n:3,mean:2,m2:-1,min:1,max:3)'::vigil.stats;
SELECT '(n:1,mean:2,m2:1,min:2,max:2)'::vigil.stats;
SELECT '(n:3,mean:2,m2:1e300,min:1,max:3)'::vigil.stats;

-- Binary I/O through COPY (FORMAT binary).  The file holds one row:
-- an 19-byte header, a 2-byte field count, a 4-byte length word at offset
-- 21, the 40-byte value at offset 25 (n, mean, m2, min, max), a trailer.
CREATE TABLE stats_bin (s vigil.stats);
INSERT INTO stats_bin VALUES ('(n:3,mean:2,m2:2,min:1,max:3)');
DO $$BEGIN
  EXECUTE format('COPY stats_bin TO %L (FORMAT binary)',
                 current_setting('data_directory') || '/stats.bin');
END$$;
CREATE TABLE stats_bin_in (s vigil.stats);
COPY stats_bin_in FROM PROGRAM 'cat stats.bin' (FORMAT binary);
SELECT s FROM stats_bin_in;
-- A length word that lies (39 bytes).
COPY stats_bin_in FROM PROGRAM 'head -c 21 stats.bin; printf "\000\000\000\047"; tail -c +26 stats.bin' (FORMAT binary);
-- A count of zero.
COPY stats_bin_in FROM PROGRAM 'head -c 25 stats.bin; printf "\000\000\000\000\000\000\000\000"; tail -c +34 stats.bin' (FORMAT binary);
-- A NaN mean.
COPY stats_bin_in FROM PROGRAM 'head -c 33 stats.bin; printf "\177\370\000\000\000\000\000\000"; tail -c +42 stats.bin' (FORMAT binary);
-- min greater than max (min := 4.0).
COPY stats_bin_in FROM PROGRAM 'head -c 49 stats.bin; printf "\100\020\000\000\000\000\000\000"; tail -c +58 stats.bin' (FORMAT binary);
SELECT count(*) AS rows_loaded FROM stats_bin_in;

COPY stats_bin_in FROM PROGRAM 'rm stats.bin';
DROP TABLE stats_bin, stats_bin_in;
DROP EXTENSION vigil;
