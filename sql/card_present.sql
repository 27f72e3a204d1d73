-- card_present_column: which rows' coordinates are where the card was.
-- impossible_travel judges only those; without the column it is off by
-- default, since merchant coordinates (an online shop's head office, a
-- chain's) are not the cardholder's position.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE pay (
	id int PRIMARY KEY,
	card text,
	amount numeric(12, 2),
	ts timestamptz,
	lat float8,
	lon float8,
	present boolean,
	present_text text
);

-- Without the column: travel is off in the new watch's rules.
SELECT vigil.watch('pay', 'card', 'amount', 'ts', 'lat', 'lon') > 0 AS watched;
SELECT name, enabled FROM vigil.rules WHERE name = 'impossible_travel';
SELECT vigil.unwatch('pay');

-- With it: on, and shown in vigil.watch_columns.
SELECT vigil.watch('pay', 'card', 'amount', 'ts', 'lat', 'lon', card_present_column => 'present') > 0 AS watched;
SELECT name, enabled FROM vigil.rules WHERE name = 'impossible_travel';
SELECT lat_column, lon_column, card_present_column FROM vigil.watch_columns;

-- A card paying in person in London every day at noon.
INSERT INTO pay SELECT i, 'c', 40, timestamptz '2020-06-01 12:00+00' + i * interval '1 day', 51.5, -0.12, true
FROM generate_series(1, 20) i;
-- Ten minutes later, an online purchase at a shop whose coordinates are in
-- New York: not where the card was, so no impossible travel.
INSERT INTO pay VALUES (21, 'c', 40, '2020-06-21 12:10+00', 40.71, -74.0, false);
-- Unknown presence counts as not present.
INSERT INTO pay VALUES (22, 'c', 40, '2020-06-21 12:20+00', 40.71, -74.0, NULL);
SELECT count(*) AS travel_alerts FROM vigil.alerts WHERE 'impossible_travel' = ANY (fired);
-- and the card's last position is still London: in person in New York
-- twenty minutes after the last in-person payment in London fires.
INSERT INTO pay VALUES (23, 'c', 40, '2020-06-21 12:20+00', 40.71, -74.0, true);
SELECT row_ref, fired FROM vigil.alerts WHERE 'impossible_travel' = ANY (fired);
-- replay scores the same way
SELECT row_ref, fired FROM vigil.replay('pay') WHERE 'impossible_travel' = ANY (fired);

-- Errors.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql
CREATE TABLE other (LIKE pay INCLUDING ALL);
SELECT what, try(stmt) FROM (VALUES
	('no location', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', card_present_column => 'present')$$),
	('no such column', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', 'lat', 'lon', card_present_column => 'here')$$),
	('a text column', $$SELECT vigil.watch('other', 'card', 'amount', 'ts', 'lat', 'lon', card_present_column => 'present_text')$$),
	('type change', $$ALTER TABLE pay ALTER COLUMN present TYPE text$$),
	('without location in the table', $$UPDATE vigil.watches SET lat_attnum = NULL, lon_attnum = NULL WHERE relation = 'pay'::regclass$$))
	t(what, stmt);

-- Dropping a coordinate drops the location and card presence with it;
-- dropping the presence column keeps the location.
ALTER TABLE pay DROP COLUMN present;
SELECT lat_column, lon_column, card_present_column FROM vigil.watch_columns;
ALTER TABLE pay ADD COLUMN present boolean;
UPDATE vigil.watches SET card_present_attnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'pay'::regclass AND attname = 'present');
ALTER TABLE pay DROP COLUMN lon;
SELECT lat_column, lon_column, card_present_column FROM vigil.watch_columns;

DROP TABLE pay, other;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
