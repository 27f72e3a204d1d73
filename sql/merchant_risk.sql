-- Merchant risk: vigil.refresh_merchant_risk and the rule kind merchant_risk.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

-- An error's SQLSTATE and message, or 'ok'.
-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- 20 cards paying at 5 merchants, one row an hour through March 2025.
-- Merchant m3 is compromised from March 10: its rows from then on are
-- fraud, at the same amounts as before.  One row in 50 has no label.
CREATE TABLE pay (id int PRIMARY KEY, card int, amount numeric, ts timestamptz, merchant text,
				  fraud boolean, fraud_int int, fraud_text text);
INSERT INTO pay
SELECT i, i % 20, 20 + i % 7, timestamptz '2025-03-01 00:00+00' + i * interval '1 hour', 'm' || i % 5,
	   CASE WHEN i % 50 = 0 THEN NULL ELSE i % 5 = 3 AND i >= 9 * 24 END,
	   CASE WHEN i % 5 = 3 AND i >= 9 * 24 THEN 1 ELSE 0 END, 'no'
FROM generate_series(1, 30 * 24) i;
SELECT vigil.watch('pay', 'card', 'amount', 'ts', merchant_column => 'merchant') > 0 AS watched;

-- A snapshot at March 20 with the default delay of 7 days counts the
-- labels of the rows before March 13: m3's fraud of March 10-12, and the
-- totals (merchant NULL).
SELECT vigil.refresh_merchant_risk('pay', 'fraud', '2025-03-20 00:00+00') AS written;
SELECT merchant, rows_1d, fraud_1d, rows_7d, fraud_7d, rows_30d, fraud_30d, delay
FROM vigil.merchant_risk ORDER BY merchant NULLS FIRST;
-- An integer label counts the same; the snapshot at the same time is replaced.
SELECT vigil.refresh_merchant_risk('pay', 'fraud_int', '2025-03-20 00:00+00') AS written;
SELECT merchant, rows_30d, fraud_30d FROM vigil.merchant_risk ORDER BY merchant NULLS FIRST;

-- The rule fires on rows at m3 from the snapshot's time on, never before:
-- replay judges each row by the snapshot current at its time.
SELECT name, kind, params, weight, enabled FROM vigil.rules WHERE kind = 'merchant_risk';
SELECT min(event_time) AS first_fired, count(*) AS fired,
	   bool_and(row_ref ->> 'id' IN (SELECT id::text FROM pay WHERE merchant = 'm3')) AS all_m3
FROM vigil.replay('pay') WHERE 'merchant_risk' = ANY (fired);
SELECT e ->> 'why' AS why, round((e ->> 'observed')::numeric, 3) AS observed, e ->> 'expected' AS expected
FROM vigil.replay('pay', '2025-03-20 00:00+00', '2025-03-20 04:00+00') r, jsonb_array_elements(r.explanation) e
WHERE e ->> 'kind' = 'merchant_risk';
-- Snapshots older than as_of - keep are dropped.  By March 25 all of m3's
-- labelled rows in the 7 days before March 18 are fraud.
SELECT vigil.refresh_merchant_risk('pay', 'fraud', '2025-03-25 00:00+00', keep => '1 day') AS written;
SELECT DISTINCT as_of FROM vigil.merchant_risk ORDER BY 1;
SELECT merchant, rows_7d, fraud_7d FROM vigil.merchant_risk ORDER BY merchant NULLS FIRST;

-- Detection: a new row at m3 alerts on that alone, one at m1 does not.
INSERT INTO pay VALUES (100001, 5, 22, '2025-03-31 10:00+00', 'm3', NULL, NULL, NULL),
					   (100002, 6, 22, '2025-03-31 10:00+00', 'm1', NULL, NULL, NULL);
SELECT row_ref ->> 'id' AS id, fired, round(score::numeric, 3) AS score FROM vigil.alerts ORDER BY id;

-- A snapshot before any label is known still marks its time, with totals
-- of zero: the rows after it, until the next, are judged by it.
SELECT vigil.refresh_merchant_risk('pay', 'fraud', '2025-03-02 00:00+00', delay => '2 days') AS written;
SELECT merchant, rows_30d, fraud_30d FROM vigil.merchant_risk WHERE as_of = '2025-03-02 00:00+00';

-- Errors.
CREATE TABLE nomerchant (id int PRIMARY KEY, card int, amount numeric, ts timestamptz, fraud boolean);
SELECT vigil.watch('nomerchant', 'card', 'amount', 'ts') > 0 AS watched;
SELECT try($$SELECT vigil.refresh_merchant_risk('nomerchant', 'fraud')$$);
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', 'nope')$$);
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', 'fraud_text')$$);
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', NULL)$$);
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', 'fraud', delay => '-1 day')$$);
CREATE TABLE unwatched (id int);
SELECT try($$SELECT vigil.refresh_merchant_risk('unwatched', 'id')$$);
SELECT try($$UPDATE vigil.rules SET params = '{"window_days": 14}' WHERE kind = 'merchant_risk'$$);
SELECT try($$INSERT INTO vigil.merchant_risk VALUES (1, now(), 'x', 1, 2, 1, 2, 1, 2, '7 days')$$);
-- Rows without a merchant are not counted (282 labelled rows before, one
-- at m1 now without); an integer label other than 0 or 1 is an error.
UPDATE pay SET merchant = NULL WHERE id = 201;
SELECT vigil.refresh_merchant_risk('pay', 'fraud', '2025-03-20 00:00+00') AS written;
SELECT merchant, rows_30d, fraud_30d FROM vigil.merchant_risk
WHERE as_of = '2025-03-20 00:00+00' ORDER BY merchant NULLS FIRST;
UPDATE pay SET fraud_int = 2 WHERE id = 200;
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', 'fraud_int', '2025-03-20 00:00+00')$$);

-- For superusers and vigil_admin.
CREATE ROLE risk_user;
GRANT SELECT ON pay TO risk_user;
SET ROLE risk_user;
SELECT try($$SELECT vigil.refresh_merchant_risk('pay', 'fraud')$$);
RESET ROLE;

-- Unwatching drops the snapshots.
SELECT vigil.unwatch('pay');
SELECT count(*) AS snapshots FROM vigil.merchant_risk;
DROP TABLE pay, nomerchant, unwatched;
DROP ROLE risk_user;
DROP FUNCTION try(text);
DROP EXTENSION vigil;
