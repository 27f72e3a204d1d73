-- The names users choose cannot change what vigil's generated SQL means.
-- replay, rebuild and verify read a watched table through one generated
-- query (src/detect/replay.c) that uses the alias t, the output name k and
-- the names pg_catalog, format, C and ctid.  Tables with columns of those
-- names, of types that would be misread if one captured a reference (a
-- bigint taken for a tuple pointer crashed the server; a composite column t
-- of the table's own layout made replay read rows the table's owner chose),
-- and with the watched columns themselves named t, are read as they are.
SET timezone = 'UTC';
CREATE EXTENSION vigil;

-- The row type of a table with the watched table's first four columns.
CREATE TABLE shadow (id int, card text, amount numeric, ts timestamptz);
CREATE TABLE every_name (id int PRIMARY KEY, card text, amount numeric, ts timestamptz,
						 t shadow DEFAULT ROW(999, 'INJECTED-KEY', 123456, '2001-01-01')::shadow,
						 k text DEFAULT 'k', format text DEFAULT 'format',
						 pg_catalog int DEFAULT 4096, "C" bigint DEFAULT 4096, "T" bigint DEFAULT 4096);
CREATE TABLE bigint_t (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, t bigint);
CREATE TABLE text_t (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, t text);
CREATE TABLE key_t (id int PRIMARY KEY, t text, amount numeric, ts timestamptz);
CREATE TABLE time_t (id int PRIMARY KEY, card text, amount numeric, t timestamptz);
SELECT vigil.watch('every_name', 'card', 'amount', 'ts') > 0 AS watched,
	   vigil.watch('bigint_t', 'card', 'amount', 'ts') > 0 AS watched,
	   vigil.watch('text_t', 'card', 'amount', 'ts') > 0 AS watched,
	   vigil.watch('key_t', 't', 'amount', 'ts') > 0 AS watched,
	   vigil.watch('time_t', 'card', 'amount', 't') > 0 AS watched;

-- Three rows for each of two cards in every table.
INSERT INTO every_name (id, card, amount, ts)
SELECT i, 'card-' || i % 2, 10 * i, timestamptz '2026-01-01' + i * interval '1 hour'
FROM generate_series(1, 6) i;
INSERT INTO bigint_t SELECT i, 'card-' || i % 2, 10 * i, timestamptz '2026-01-01' + i * interval '1 hour', 4096
FROM generate_series(1, 6) i;
INSERT INTO text_t SELECT i, 'card-' || i % 2, 10 * i, timestamptz '2026-01-01' + i * interval '1 hour', 'text'
FROM generate_series(1, 6) i;
INSERT INTO key_t SELECT i, 'card-' || i % 2, 10 * i, timestamptz '2026-01-01' + i * interval '1 hour'
FROM generate_series(1, 6) i;
INSERT INTO time_t SELECT i, 'card-' || i % 2, 10 * i, timestamptz '2026-01-01' + i * interval '1 hour'
FROM generate_series(1, 6) i;

-- replay reads each table's own rows: the same six, whatever the columns.
SELECT tbl, string_agg(format('%s %s %s', r.key, r.amount, to_char(r.event_time, 'HH24:MI')), ', '
					   ORDER BY r.key, r.event_time) AS replayed
FROM unnest(ARRAY['every_name', 'bigint_t', 'text_t', 'key_t', 'time_t']::regclass[]) tbl,
	 LATERAL vigil.replay(tbl) r
GROUP BY tbl ORDER BY tbl::text;

-- rebuild recomputes the profiles detection made, and verify finds them equal.
SELECT tbl, vigil.rebuild(tbl) AS rebuilt, (SELECT count(*) FROM vigil.verify(tbl)) AS differences
FROM unnest(ARRAY['every_name', 'bigint_t', 'text_t', 'key_t', 'time_t']::regclass[]) tbl
ORDER BY tbl::text;
SELECT table_name, key, transactions, mean
FROM vigil.key_risk ORDER BY table_name, key;

DROP TABLE every_name, bigint_t, text_t, key_t, time_t, shadow;
DROP EXTENSION vigil;
