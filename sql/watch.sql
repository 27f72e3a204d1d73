-- vigil.watch and vigil.unwatch: validation, default rules, rule validation,
-- and what happens when watched tables or columns are dropped.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE txn (
	id bigserial PRIMARY KEY,
	card text,
	amount numeric(12, 2),
	ts timestamptz,
	lat float8,
	lon float8,
	merchant text,
	category text,
	note text
);

-- Validation.
SELECT vigil.watch('txn', NULL, 'amount', 'ts');
CREATE VIEW txn_view AS SELECT * FROM txn;
SELECT vigil.watch('txn_view', 'card', 'amount', 'ts');
CREATE TABLE no_pk (card text, amount numeric, ts timestamptz);
SELECT vigil.watch('no_pk', 'card', 'amount', 'ts');
SELECT vigil.watch('txn', 'card', 'amount', 'nope');
SELECT vigil.watch('txn', 'card', 'note', 'ts');
SELECT vigil.watch('txn', 'card', 'amount', 'note');
SELECT vigil.watch('txn', 'card', 'amount', 'ts', lat_column => 'lat');
SELECT vigil.watch('txn', 'card', 'amount', 'ts', lat_column => 'note', lon_column => 'lon');
SELECT vigil.watch('txn', 'card', 'amount', 'ts', alert_threshold => 0);
SELECT vigil.watch('txn', 'card', 'amount', 'ts', alert_threshold => 1.5);
SELECT vigil.watch('missing_table', 'card', 'amount', 'ts');
SELECT vigil.watch('vigil.alerts', 'key', 'amount', 'event_time');
DROP VIEW txn_view;

-- A watch, its columns and its default rules.
SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant', 'category') > 0 AS watched;
SELECT vigil.watch('txn', 'card', 'amount', 'ts');
SELECT relation, key_column, amount_column, time_column, lat_column, lon_column,
	   merchant_column, category_column, alert_threshold, rows_skipped
FROM vigil.watch_columns;
SELECT name, kind, params, weight, enabled FROM vigil.rules ORDER BY name;
-- The statement trigger fires as applications insert; the constraint
-- trigger only as a logical replication subscriber applies rows (R).
SELECT tgname, tgenabled,
	   regexp_replace(pg_get_triggerdef(t.oid), '\(''?\d+''?([,)])', '(<id>\1', 'g') AS definition
FROM pg_trigger t WHERE tgrelid = 'txn'::regclass ORDER BY tgname;

-- Rules are validated when written, naming the rule and the parameter.
UPDATE vigil.rules SET params = '{"threshold": 4}' WHERE name = 'amount_zscore';
SELECT params FROM vigil.rules WHERE name = 'amount_zscore';
UPDATE vigil.rules SET params = '{"treshold": 4}' WHERE name = 'amount_zscore';
UPDATE vigil.rules SET params = '{"threshold": -1}' WHERE name = 'amount_zscore';
UPDATE vigil.rules SET params = '{"threshold": "high"}' WHERE name = 'amount_zscore';
UPDATE vigil.rules SET params = '[1, 2]' WHERE name = 'amount_zscore';
UPDATE vigil.rules SET params = '{"threshold": 7, "saturate": 6}' WHERE name = 'amount_zscore';
UPDATE vigil.rules SET weight = 2 WHERE name = 'amount_zscore';
INSERT INTO vigil.rules (watch_id, name, kind) SELECT id, 'mine', 'moon_phase' FROM vigil.watches;
INSERT INTO vigil.rules (watch_id, name, kind, params)
SELECT id, 'big', 'amount_limit', '{"limit": 2500}' FROM vigil.watches;
SELECT name, kind, params, weight, enabled FROM vigil.rules WHERE name = 'big';

-- Renaming a watched column does not matter: columns are kept by number.
ALTER TABLE txn RENAME COLUMN amount TO amount_usd;
SELECT amount_column FROM vigil.watch_columns;

-- A watched column's type may change to another type detection reads for
-- its role, which it follows; to any other, the ALTER TABLE fails with 42804
-- (0.1 let detection skip every later row, silently).
ALTER TABLE txn ALTER COLUMN amount_usd TYPE float8;
INSERT INTO txn (card, amount_usd, ts) VALUES ('c1', 12.5, '2026-01-01');
SELECT key, (vigil.profile_json(profile) ->> 'mean')::float8 AS mean FROM vigil.profiles;
ALTER TABLE txn ALTER COLUMN amount_usd TYPE text;
ALTER TABLE txn ALTER COLUMN ts TYPE date;
ALTER TABLE txn ALTER COLUMN lon TYPE text, ALTER COLUMN note TYPE varchar(10);
ALTER TABLE txn ALTER COLUMN card TYPE varchar(20), ALTER COLUMN merchant TYPE varchar(20);
ALTER TABLE txn ALTER COLUMN ts TYPE timestamp;
SELECT format_type(atttypid, NULL) AS type FROM pg_attribute
WHERE attrelid = 'txn'::regclass AND attname IN ('amount_usd', 'ts', 'lon', 'card') ORDER BY attname;
INSERT INTO txn (card, amount_usd, ts) VALUES ('c1', 13.5, '2026-01-02');
SELECT key, vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles;

-- Dropping an optional column stops using it; dropping one detection needs
-- forgets the watch.
ALTER TABLE txn DROP COLUMN category;
SELECT category_column FROM vigil.watch_columns;
ALTER TABLE txn DROP COLUMN lat;
SELECT lat_column, lon_column FROM vigil.watch_columns;
ALTER TABLE txn DROP COLUMN ts;
SELECT count(*) AS watches FROM vigil.watches;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'txn'::regclass AND NOT tgisinternal;
INSERT INTO txn (card, amount_usd) VALUES ('c1', 10);

-- unwatch removes trigger, rules and profiles.
ALTER TABLE txn ADD COLUMN ts timestamptz;
SELECT vigil.watch('txn', 'card', 'amount_usd', 'ts') > 0 AS watched;
SELECT vigil.unwatch('txn');
SELECT count(*) AS watches, (SELECT count(*) FROM vigil.rules) AS rules FROM vigil.watches;
SELECT vigil.unwatch('txn');

-- Dropping a watched table forgets its watch.
SELECT vigil.watch('txn', 'card', 'amount_usd', 'ts') > 0 AS watched;
DROP TABLE txn;
SELECT count(*) AS watches, (SELECT count(*) FROM vigil.rules) AS rules FROM vigil.watches;

-- Quoted, mixed-case and unicode identifiers.
CREATE SCHEMA "Ledger";
CREATE TABLE "Ledger"."Trans Actions" ("ID" int PRIMARY KEY, "Kärtchen" text, "Betrag €" numeric,
									   "Zeit" timestamptz);
SELECT vigil.watch('"Ledger"."Trans Actions"', 'Kärtchen', 'Betrag €', 'Zeit') > 0 AS watched;
SELECT relation, key_column, amount_column, time_column FROM vigil.watch_columns;
INSERT INTO "Ledger"."Trans Actions" VALUES (1, 'k', 12.5, '2026-11-20 10:00+00');
SELECT key, vigil.profile_json(profile) ->> 'n' AS n FROM vigil.profiles;
DROP SCHEMA "Ledger" CASCADE;
SELECT count(*) AS watches FROM vigil.watches;

DROP TABLE no_pk;
DROP EXTENSION vigil;
