-- A watch's time zone: hours of the day (the unusual_hour rule, the
-- profile's hour histogram) are counted in it, through daylight saving
-- time; 0.1 counted UTC hours.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE ny (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz);
CREATE TABLE utc (LIKE ny INCLUDING ALL);
CREATE TABLE kolkata (LIKE ny INCLUDING ALL);
SELECT vigil.watch('ny', 'card', 'amount', 'ts', time_zone => 'America/New_York') > 0 AS watched;
SELECT vigil.watch('utc', 'card', 'amount', 'ts') > 0 AS watched;
SELECT vigil.watch('kolkata', 'card', 'amount', 'ts', time_zone => 'Asia/Kolkata') > 0 AS watched;
SELECT relation, time_zone FROM vigil.watch_columns ORDER BY watch_id;

-- A card paying at 14:00 New York time every day for 40 days, across the
-- switch to daylight saving time on 2020-03-08: 19:00 UTC before it, 18:00
-- after.
INSERT INTO ny
SELECT i, 'c', 20, ((date '2020-02-10' + i) + time '14:00') AT TIME ZONE 'America/New_York'
FROM generate_series(1, 40) i;
INSERT INTO utc SELECT * FROM ny;
SELECT count(DISTINCT extract(hour FROM ts AT TIME ZONE 'UTC')) AS utc_hours,
	   count(DISTINCT extract(hour FROM ts AT TIME ZONE 'America/New_York')) AS local_hours
FROM ny;
-- At 03:00 New York time: unusual there, and said in its local hour (a
-- light rule: it fires without alerting alone, so replay shows it).
INSERT INTO ny VALUES (41, 'c', 20, timestamptz '2020-03-21 03:00 America/New_York');
INSERT INTO utc VALUES (41, 'c', 20, timestamptz '2020-03-21 03:00 America/New_York');
SELECT 'ny' AS watch, fired, explanation -> 0 ->> 'why' AS why FROM vigil.replay('ny') WHERE row_ref = '{"id": 41}'
UNION ALL
SELECT 'utc', fired, explanation -> 0 ->> 'why' FROM vigil.replay('utc') WHERE row_ref = '{"id": 41}';
-- At 14:00 local after the switch: the card's one hour in New York; in
-- UTC hours 18:00 holds only the days since the switch, under half the
-- card's activity.
UPDATE vigil.rules SET params = params || '{"max_share": 0.5}' WHERE name = 'unusual_hour';
SELECT 'ny' AS watch, fired FROM vigil.replay('ny') WHERE row_ref = '{"id": 40}'
UNION ALL
SELECT 'utc', fired FROM vigil.replay('utc') WHERE row_ref = '{"id": 40}';
UPDATE vigil.rules SET params = params || '{"max_share": 0.02}' WHERE name = 'unusual_hour';
-- replay and verify count hours as detection did
SELECT count(*) AS differences FROM vigil.verify('ny');

-- Half-hour offsets, said as such.
INSERT INTO kolkata
SELECT i, 'c', 20, ((date '2020-02-10' + i) + time '14:00') AT TIME ZONE 'Asia/Kolkata'
FROM generate_series(1, 40) i;
INSERT INTO kolkata VALUES (41, 'c', 20, timestamptz '2020-03-21 03:10 Asia/Kolkata');
SELECT fired, explanation -> 0 ->> 'why' AS why FROM vigil.replay('kolkata') WHERE row_ref = '{"id": 41}';

-- Errors: an unknown name, NULL.  A name the server no longer knows (set
-- directly) makes the watch incomplete: detection says so and scores
-- nothing.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql
CREATE TABLE other (LIKE ny INCLUDING ALL);
SELECT what, try(stmt) FROM (VALUES
	('unknown zone', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', time_zone => 'Mars/Olympus_Mons')$$),
	('NULL zone', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', time_zone => NULL)$$),
	('an offset', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', time_zone => '+02')$$)) t(what, stmt);
UPDATE vigil.watches SET time_zone = 'Mars/Olympus_Mons' WHERE relation = 'ny'::regclass;
INSERT INTO ny VALUES (42, 'c', 20, '2020-03-22 12:00+00');
SELECT try($$SELECT count(*) FROM vigil.replay('ny')$$) AS replay;

DROP TABLE ny, utc, kolkata, other;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
