-- A sample OLTP schema for card transactions, in the style of an RDS
-- PostgreSQL database behind a card-processing pipeline, watched by pg_vigil.
--
--   customers  1 ─< cards  1 ─< transactions >─ 1  merchants >─ 1  categories
--
-- Load it into a database of your own (it creates its tables in the current
-- schema, normally public):
--
--   psql -d app -v ON_ERROR_STOP=1 -f examples/schema.sql
--
-- Running it again is harmless: it creates what is missing and leaves what
-- exists as it is (an existing table keeps its columns, a watch its settings).
--
-- The ingestion Lambda (examples/lambda/handler.py) and the CSV loader of the
-- generator (examples/generator/load_csv.sql) write into these tables.
--
-- Detection reads the columns of the watched table itself, so transactions
-- carries, besides its foreign keys, the few facts detection needs at insert
-- time: the card (card_id), the amount, the time, where the card was used
-- (lat/lon: the merchant's location for a card-present transaction, NULL
-- for a card-not-present one), the merchant and the category.  Everything
-- else — who the customer is, where they live, the merchant's name — stays
-- in its own table.

CREATE EXTENSION IF NOT EXISTS vigil;

-- Merchant categories: reference data (the 14 categories of the usual
-- synthetic card data sets).  The ingestion path adds an unknown code with
-- no description rather than refusing the transaction.
CREATE TABLE IF NOT EXISTS categories (
	category text PRIMARY KEY CHECK (category ~ '^[a-z][a-z0-9_]{0,39}$'),
	description text,
	card_present boolean				-- false: online (card not present)
);

INSERT INTO categories (category, description, card_present) VALUES
	('entertainment', 'Entertainment', true),
	('food_dining', 'Restaurants and dining', true),
	('gas_transport', 'Fuel and transport', true),
	('grocery_net', 'Groceries, online', false),
	('grocery_pos', 'Groceries, in store', true),
	('health_fitness', 'Health and fitness', true),
	('home', 'Home and garden', true),
	('kids_pets', 'Kids and pets', true),
	('misc_net', 'Miscellaneous, online', false),
	('misc_pos', 'Miscellaneous, in store', true),
	('personal_care', 'Personal care', true),
	('shopping_net', 'Shopping, online', false),
	('shopping_pos', 'Shopping, in store', true),
	('travel', 'Travel', true)
ON CONFLICT (category) DO NOTHING;

CREATE TABLE IF NOT EXISTS customers (
	customer_id bigint PRIMARY KEY,
	first_name text,
	last_name text,
	gender text,
	dob date,
	job text,
	city text,
	state text,
	zip text,
	lat float8 CHECK (lat BETWEEN -90 AND 90),		-- home
	lon float8 CHECK (lon BETWEEN -180 AND 180),
	city_pop integer CHECK (city_pop >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE TABLE IF NOT EXISTS cards (
	card_id bigint PRIMARY KEY,
	customer_id bigint NOT NULL REFERENCES customers,
	last4 text CHECK (last4 ~ '^[0-9]{4}$'),	-- never the full card number
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS cards_customer_id ON cards (customer_id);

CREATE TABLE IF NOT EXISTS merchants (
	merchant_id bigint PRIMARY KEY,
	name text NOT NULL,
	category text NOT NULL REFERENCES categories,
	lat float8 CHECK (lat BETWEEN -90 AND 90),		-- NULL for online merchants
	lon float8 CHECK (lon BETWEEN -180 AND 180),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE INDEX IF NOT EXISTS merchants_category ON merchants (category);

CREATE TABLE IF NOT EXISTS transactions (
	transaction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	trans_num text NOT NULL UNIQUE,			-- the processor's id: deduplicates re-deliveries
	card_id bigint NOT NULL REFERENCES cards,
	merchant_id bigint NOT NULL REFERENCES merchants,
	category text NOT NULL REFERENCES categories,
	amount numeric(12, 2) NOT NULL CHECK (amount > 0),
	trans_time timestamptz NOT NULL,
	lat float8 CHECK (lat BETWEEN -90 AND 90),		-- where the card was used
	lon float8 CHECK (lon BETWEEN -180 AND 180),
	is_fraud boolean,						-- label, when known (chargeback, generator)
	fraud_pattern text,						-- the generator's pattern label; NULL otherwise
	received_at timestamptz NOT NULL DEFAULT now(),
	-- a located row was paid in person (online ones have no location): only
	-- those say where the card was, for the impossible_travel rule
	card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED,
	CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE INDEX IF NOT EXISTS transactions_card_time ON transactions (card_id, trans_time);
CREATE INDEX IF NOT EXISTS transactions_merchant_id ON transactions (merchant_id);
CREATE INDEX IF NOT EXISTS transactions_trans_time ON transactions (trans_time);

-- Records the ingestion Lambda could not take (bad base64, bad JSON, a
-- missing or out-of-range field): kept here and logged, never retried.
CREATE TABLE IF NOT EXISTS ingest_rejects (
	event_id text PRIMARY KEY,				-- Kinesis eventID: shardId-...:sequenceNumber
	sequence_number text,
	event_source_arn text,
	reason text NOT NULL,
	payload text,							-- the record's data, as received (base64)
	received_at timestamptz NOT NULL DEFAULT now()
);

-- A least-privileged role for the ingestion path (the Lambda), if you want
-- one; roles are cluster-wide, so create it once:
--
--   CREATE ROLE vigil_ingest LOGIN PASSWORD '...';
--   GRANT SELECT, INSERT, UPDATE ON customers, cards, merchants TO vigil_ingest;
--   GRANT SELECT, INSERT ON categories, ingest_rejects TO vigil_ingest;
--   GRANT SELECT (trans_num), INSERT ON transactions TO vigil_ingest;
--
-- It needs nothing on the schema vigil: detection runs as the extension's
-- owner.

-- Watch the transactions: every INSERT or COPY is scored per card.
SELECT vigil.watch('transactions',
				   key_column => 'card_id',
				   amount_column => 'amount',
				   time_column => 'trans_time',
				   lat_column => 'lat',
				   lon_column => 'lon',
				   merchant_column => 'merchant_id',
				   category_column => 'category',
				   card_present_column => 'card_present',
				   alert_threshold => 0.5)
WHERE NOT EXISTS (SELECT FROM vigil.watches WHERE relation = 'transactions'::regclass);
