-- Population priors: vigil.refresh_priors takes snapshots of what the
-- watch's cards pay per category and when; category_amount and quiet_hour
-- judge each row by the newest snapshot taken at or before its time.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE pay (id int PRIMARY KEY, card text, amount numeric(12, 2), ts timestamptz, category text);
SELECT vigil.watch('pay', 'card', 'amount', 'ts', category_column => 'category',
				   time_zone => 'Europe/Paris') > 0 AS watched;
-- 60 cards over 60 days, paying in the afternoon (Paris): coffee around
-- 4.00, flights around 400.00 (amounts spread by arithmetic, no randomness).
INSERT INTO pay
SELECT c * 1000 + d, 'card-' || c,
	   CASE WHEN (c + d) % 5 = 0 THEN 400 ELSE 4 END * (0.8 + ((c * 7 + d * 13) % 41) / 100.0),
	   ((date '2020-01-01' + d) + time '13:00' + (c % 5) * interval '1 hour') AT TIME ZONE 'Europe/Paris',
	   CASE WHEN (c + d) % 5 = 0 THEN 'flight' ELSE 'coffee' END
FROM generate_series(1, 60) c, generate_series(1, 60) d;

-- No snapshot yet: the population rules have nothing to judge by.
SELECT count(*) FILTER (WHERE fired && '{category_amount,quiet_hour}') AS population_fired
FROM vigil.replay('pay');

-- A snapshot at 2020-02-01 from the 90 days before: per category and over
-- all rows.
SELECT vigil.refresh_priors('pay', '2020-02-01') AS rows_written;
SELECT as_of, category, n, round(exp(log_mean)::numeric, 2) AS typical, round(log_stddev::numeric, 3) AS spread,
	   round((SELECT sum(s) FROM unnest(hour_shares) s)::numeric, 12) AS hour_shares_sum,
	   (SELECT array_agg(h - 1) FROM generate_subscripts(hour_shares, 1) h WHERE hour_shares[h] > 0) AS hours
FROM vigil.priors ORDER BY category NULLS FIRST;
-- Taking it again at the same time replaces it.
SELECT vigil.refresh_priors('pay', '2020-02-01') AS rows_written, (SELECT count(*) FROM vigil.priors) AS rows;

-- A new card (no history of its own): 90.00 for a coffee is far above what
-- coffee costs; 450.00 for a flight is not.  Both after the snapshot.
INSERT INTO pay VALUES (100001, 'new-card', 90, '2020-03-02 14:00+01', 'coffee'),
					   (100002, 'new-card-2', 450, '2020-03-02 14:00+01', 'flight');
SELECT row_ref, fired, round(score::numeric, 3) AS score,
	   (SELECT e ->> 'why' FROM jsonb_array_elements(explanation) e WHERE e ->> 'rule' = 'category_amount') AS why
FROM vigil.replay('pay') WHERE key LIKE 'new-card%' ORDER BY 1;
-- At 04:00 Paris, an hour nobody in the snapshot paid in.
INSERT INTO pay VALUES (100003, 'card-1', 4, '2020-03-03 04:00+01', 'coffee');
SELECT fired, (SELECT e ->> 'why' FROM jsonb_array_elements(explanation) e WHERE e ->> 'rule' = 'quiet_hour') AS why
FROM vigil.replay('pay') WHERE row_ref = '{"id": 100003}';

-- The same row before the snapshot's time is judged without it: replay
-- never sees a snapshot taken after a row.
INSERT INTO pay VALUES (100004, 'new-card-3', 90, '2020-01-31 14:00+01', 'coffee');
SELECT row_ref, fired FROM vigil.replay('pay') WHERE row_ref = '{"id": 100004}';

-- Live detection judges by the snapshot too (a refresh reaches every
-- session's cached watch): at a threshold of 0.3, category_amount alone
-- alerts.
UPDATE vigil.watches SET alert_threshold = 0.3;
INSERT INTO pay VALUES (100005, 'new-card-4', 95, '2020-03-04 14:00+01', 'coffee');
SELECT row_ref, fired FROM vigil.alerts WHERE row_ref = '{"id": 100005}';
SELECT vigil.refresh_priors('pay', '2020-03-04 15:00+01') > 0 AS refreshed;
INSERT INTO pay VALUES (100006, 'new-card-5', 95, '2020-03-05 14:00+01', 'coffee');
SELECT row_ref, fired FROM vigil.alerts WHERE row_ref = '{"id": 100006}';

-- Other time column types: a timestamp is UTC, an integer seconds since
-- the epoch; no category: one prior over all rows.
CREATE TABLE pay_epoch (id int PRIMARY KEY, card text, amount int, ts bigint);
SELECT vigil.watch('pay_epoch', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO pay_epoch SELECT i, 'c' || i % 10, 10 + i % 7, 1577836800 + i * 3600 FROM generate_series(1, 500) i;
SELECT vigil.refresh_priors('pay_epoch', '2020-01-15') AS rows_written;
SELECT category, n FROM vigil.priors p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'pay_epoch'::regclass;

-- Hours are counted by the zone's rules, as detection counts them, also
-- for a zone name that is an abbreviation too (CET: UTC+1 in winter, UTC+2
-- in summer, not a fixed UTC+1).
CREATE TABLE pay_cet (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('pay_cet', 'card', 'amount', 'ts', time_zone => 'CET') > 0 AS watched;
INSERT INTO pay_cet SELECT i, 'c', 10, timestamptz '2020-07-01 12:00+00' + i * interval '1 day'
FROM generate_series(1, 20) i;
SELECT vigil.refresh_priors('pay_cet', '2020-08-01') AS rows_written;
SELECT (SELECT array_agg(h - 1) FROM generate_subscripts(hour_shares, 1) h WHERE hour_shares[h] > 0) AS hours
FROM vigil.priors p JOIN vigil.watches w ON w.id = p.watch_id WHERE w.relation = 'pay_cet'::regclass;
SHOW TimeZone;

-- Snapshots older than keep before the new one are dropped.
SELECT vigil.refresh_priors('pay_cet', '2020-08-15') AS rows_written;
SELECT vigil.refresh_priors('pay_cet', '2020-09-01', keep => '10 days') AS rows_written;
SELECT as_of FROM vigil.priors p JOIN vigil.watches w ON w.id = p.watch_id
WHERE w.relation = 'pay_cet'::regclass ORDER BY 1;

-- Errors.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql
CREATE TABLE unwatched (id int PRIMARY KEY);
SELECT what, try(stmt) FROM (VALUES
	('NULL relation', $$SELECT vigil.refresh_priors(NULL)$$),
	('NULL as_of', $$SELECT vigil.refresh_priors('pay', NULL)$$),
	('NULL history', $$SELECT vigil.refresh_priors('pay', now(), NULL)$$),
	('no history', $$SELECT vigil.refresh_priors('pay', now(), '0')$$),
	('NULL keep', $$SELECT vigil.refresh_priors('pay', now(), keep => NULL)$$),
	('negative keep', $$SELECT vigil.refresh_priors('pay', now(), keep => '-1 day')$$),
	('not watched', $$SELECT vigil.refresh_priors('unwatched')$$)) t(what, stmt);
CREATE ROLE regress_vigil_priors;
GRANT USAGE ON SCHEMA vigil TO regress_vigil_priors;
GRANT SELECT ON pay TO regress_vigil_priors;
SET ROLE regress_vigil_priors;
SELECT try($$SELECT vigil.refresh_priors('pay')$$) AS refresh_as_nobody;
RESET ROLE;
-- A vigil_admin whom the table's row-level security applies to is refused:
-- the snapshot would be of the rows the policies show.
GRANT vigil_admin TO regress_vigil_priors;
ALTER TABLE pay ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_coffee ON pay USING (category = 'coffee');
SET ROLE regress_vigil_priors;
SELECT try($$SELECT vigil.refresh_priors('pay')$$) AS refresh_under_row_security;
RESET ROLE;
ALTER TABLE pay DISABLE ROW LEVEL SECURITY;

-- The daily repair takes a snapshot of every watch's priors, from the last
-- 90 days, and drops those older than 90 days: pay has recent rows and
-- keeps one snapshot; pay_epoch and pay_cet have none and keep nothing.
INSERT INTO pay SELECT 200000 + i, 'recent', 4, now() - i * interval '1 hour', 'coffee'
FROM generate_series(1, 100) i;
SELECT w.relation, count(DISTINCT p.as_of) AS snapshots FROM vigil.watches w LEFT JOIN vigil.priors p ON p.watch_id = w.id
GROUP BY 1 ORDER BY 1;
CALL vigil.rebuild_each();
SELECT w.relation, count(DISTINCT p.as_of) AS snapshots FROM vigil.watches w LEFT JOIN vigil.priors p ON p.watch_id = w.id
GROUP BY 1 ORDER BY 1;

-- Unwatching forgets the watch's priors.
SELECT vigil.unwatch('pay');
SELECT count(*) AS priors_left FROM vigil.priors p
WHERE NOT EXISTS (SELECT FROM vigil.watches w WHERE w.id = p.watch_id);

DROP TABLE pay, pay_epoch, pay_cet, unwatched;
DROP FUNCTION try(text);
DROP OWNED BY regress_vigil_priors;
DROP EXTENSION vigil;
DROP ROLE regress_vigil_priors;
