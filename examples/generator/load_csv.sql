-- Loads the generator's CSV (examples/generator/generate.py --format csv) from
-- psql's standard input into the tables of examples/schema.sql, the way a
-- nightly batch would: COPY into a staging table, then upsert customers,
-- cards and merchants and insert the transactions in time order, skipping
-- trans_nums already loaded.  Detection scores the transactions as they go in.
--
--   examples/generator/generate.py --cards 2000 --days 30 |
--       psql -X -v ON_ERROR_STOP=1 -d app -f examples/generator/load_csv.sql
--
-- A backfill of history should not raise alerts: load it with detection off
-- in the loading session, then build the profiles from the rows (what
-- make demo does; vigil.enabled is for superusers and vigil_admin):
--
--   PGOPTIONS='-c vigil.enabled=off' psql ... -f examples/generator/load_csv.sql
--   psql -d app -c "SELECT vigil.rebuild('transactions')"

BEGIN;

CREATE TEMP TABLE staging (
	trans_num text, trans_time timestamptz, card_id bigint, card_last4 text,
	customer_id bigint, first_name text, last_name text, gender text, dob date, job text,
	city text, state text, zip text, cust_lat float8, cust_lon float8, city_pop integer,
	merchant_id bigint, merchant_name text, category text, merchant_lat float8,
	merchant_lon float8, amount numeric(12, 2), is_fraud boolean, fraud_pattern text
) ON COMMIT DROP;

\copy staging FROM pstdin WITH (FORMAT csv, HEADER true)

INSERT INTO categories (category)
SELECT DISTINCT category FROM staging
ON CONFLICT DO NOTHING;

-- the last row of each customer, card and merchant wins
INSERT INTO customers AS c (customer_id, first_name, last_name, gender, dob, job, city, state,
							zip, lat, lon, city_pop)
SELECT DISTINCT ON (customer_id) customer_id, first_name, last_name, gender, dob, job, city,
	   state, zip, cust_lat, cust_lon, city_pop
FROM staging ORDER BY customer_id, trans_time DESC
ON CONFLICT (customer_id) DO UPDATE SET
	first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, gender = EXCLUDED.gender,
	dob = EXCLUDED.dob, job = EXCLUDED.job, city = EXCLUDED.city, state = EXCLUDED.state,
	zip = EXCLUDED.zip, lat = EXCLUDED.lat, lon = EXCLUDED.lon, city_pop = EXCLUDED.city_pop,
	updated_at = now()
WHERE (c.first_name, c.last_name, c.gender, c.dob, c.job, c.city, c.state, c.zip, c.lat, c.lon,
	   c.city_pop)
	  IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.gender, EXCLUDED.dob,
						EXCLUDED.job, EXCLUDED.city, EXCLUDED.state, EXCLUDED.zip, EXCLUDED.lat,
						EXCLUDED.lon, EXCLUDED.city_pop);

INSERT INTO cards AS c (card_id, customer_id, last4)
SELECT DISTINCT ON (card_id) card_id, customer_id, card_last4
FROM staging ORDER BY card_id, trans_time DESC
ON CONFLICT (card_id) DO UPDATE SET
	customer_id = EXCLUDED.customer_id, last4 = EXCLUDED.last4, updated_at = now()
WHERE (c.customer_id, c.last4) IS DISTINCT FROM (EXCLUDED.customer_id, EXCLUDED.last4);

INSERT INTO merchants AS m (merchant_id, name, category, lat, lon)
SELECT DISTINCT ON (merchant_id) merchant_id, merchant_name, category, merchant_lat, merchant_lon
FROM staging ORDER BY merchant_id, trans_time DESC
ON CONFLICT (merchant_id) DO UPDATE SET
	name = EXCLUDED.name, category = EXCLUDED.category, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
	updated_at = now()
WHERE (m.name, m.category, m.lat, m.lon)
	  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.category, EXCLUDED.lat, EXCLUDED.lon);

INSERT INTO transactions (trans_num, card_id, merchant_id, category, amount, trans_time, lat, lon,
						  is_fraud, fraud_pattern)
SELECT trans_num, card_id, merchant_id, category, amount, trans_time, merchant_lat, merchant_lon,
	   is_fraud, fraud_pattern
FROM staging ORDER BY trans_time, trans_num
ON CONFLICT (trans_num) DO NOTHING;

COMMIT;
