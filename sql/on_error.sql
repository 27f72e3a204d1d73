-- Detection must never take payments down: a watch whose on_error is skip
-- lets an insert commit when detection fails, and vigil.enabled turns all
-- detection off at once.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE pay (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('pay', 'card', 'amount', 'ts') > 0 AS watched;
UPDATE vigil.rules SET enabled = (name = 'amount_limit');
UPDATE vigil.rules SET params = '{"limit": 500}' WHERE name = 'amount_limit';
INSERT INTO pay VALUES (1, 'c1', 10, '2024-01-01 10:00+00');

-- Writing an alert fails (as a full disk would).
CREATE FUNCTION alerts_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'no space left for alerts' USING ERRCODE = 'disk_full';
END$$;
CREATE TRIGGER fail BEFORE INSERT ON vigil.alerts
	FOR EACH ROW EXECUTE FUNCTION alerts_fail();

-- on_error = raise, the default: the insert fails.
SELECT on_error FROM vigil.watches;
INSERT INTO pay VALUES (2, 'c1', 900, '2024-01-01 11:00+00'), (3, 'c1', 20, '2024-01-01 12:00+00');
SELECT count(*) AS rows FROM pay;

-- on_error = skip: the insert commits, with a warning; detection's writes
-- are undone and every row of the statement is recorded as skipped.
UPDATE vigil.watches SET on_error = 'skip';
INSERT INTO pay VALUES (2, 'c1', 900, '2024-01-01 11:00+00'), (3, 'c1', 20, '2024-01-01 12:00+00');
SELECT count(*) AS rows FROM pay;
SELECT (vigil.profile_json(profile) ->> 'n')::int AS profile_n FROM vigil.profiles;
SELECT row_ref, reason FROM vigil.skipped ORDER BY row_ref;
SELECT count(*) AS alerts FROM vigil.alerts;
-- in a transaction, the rest of it goes on too
BEGIN;
INSERT INTO pay VALUES (4, 'c1', 950, '2024-01-01 13:00+00');
INSERT INTO pay VALUES (5, 'c1', 30, '2024-01-01 14:00+00');
COMMIT;
SELECT count(*) AS rows, count(*) FILTER (WHERE id = 5) AS row_5 FROM pay;
SELECT (vigil.profile_json(profile) ->> 'n')::int AS profile_n FROM vigil.profiles;

-- When recording the skipped rows fails too, the warnings are all there
-- is, and the insert still commits.
CREATE TRIGGER fail BEFORE INSERT ON vigil.skipped
	FOR EACH ROW EXECUTE FUNCTION alerts_fail();
INSERT INTO pay VALUES (6, 'c1', 990, '2024-01-01 15:00+00');
SELECT count(*) AS rows FROM pay;
DROP TRIGGER fail ON vigil.skipped;

-- The cause fixed, rebuild folds every row in, and verify agrees.
DROP TRIGGER fail ON vigil.alerts;
SELECT * FROM vigil.rebuild('pay');
SELECT (vigil.profile_json(profile) ->> 'n')::int AS profile_n FROM vigil.profiles;
SELECT count(*) AS differences FROM vigil.verify('pay');

-- A cancel is not detection's failure: one that comes while detection
-- writes an alert still cancels the insert.
CREATE FUNCTION alerts_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep(30);
	RETURN NEW;
END$$;
CREATE TRIGGER slow BEFORE INSERT ON vigil.alerts
	FOR EACH ROW EXECUTE FUNCTION alerts_slow();
SET statement_timeout = '500ms';
INSERT INTO pay VALUES (100, 'c1', 990, '2024-02-01');
RESET statement_timeout;
DROP TRIGGER slow ON vigil.alerts;
SELECT count(*) AS rows FROM pay;

-- on_error accepts raise and skip only.
\set VERBOSITY terse
UPDATE vigil.watches SET on_error = 'ignore';
\set VERBOSITY default

-- vigil.enabled: off, no row is scored, folded or recorded.
CREATE ROLE regress_vigil_oncall IN ROLE vigil_admin;
CREATE ROLE regress_vigil_nobody;
GRANT INSERT ON pay TO regress_vigil_oncall, regress_vigil_nobody;
SET ROLE regress_vigil_nobody;
SET vigil.enabled = off;
RESET ROLE;
SET ROLE regress_vigil_oncall;
SET vigil.enabled = off;
INSERT INTO pay VALUES (7, 'c9', 990, '2024-01-02 10:00+00'), (8, NULL, 10, '2024-01-02 10:00+00');
RESET vigil.enabled;
INSERT INTO pay VALUES (9, 'c9', 990, '2024-01-02 11:00+00');
RESET ROLE;
SELECT (vigil.profile_json(profile) ->> 'n')::int AS profile_n FROM vigil.profiles WHERE key = 'c9';
SELECT row_ref ->> 'id' AS alerted FROM vigil.alerts ORDER BY id;
SELECT count(*) AS skipped FROM vigil.skipped WHERE row_ref ->> 'id' = '8';

DROP TABLE pay;
DROP FUNCTION alerts_fail(), alerts_slow();
DROP EXTENSION vigil;
DROP ROLE regress_vigil_oncall, regress_vigil_nobody;
