-- On the self-managed PostgreSQL 15 beside RDS (EC2, ECS/EKS) that runs
-- vigil, with shared_preload_libraries = 'vigil,pg_cron':
--
--   psql -d fraud -v ON_ERROR_STOP=1 \
--        -v publisher='host=mydb.xxxx.us-east-1.rds.amazonaws.com dbname=shop user=vigil_subscriber password=... sslmode=verify-full' \
--        -f examples/rds/subscriber.sql
--
-- The table has the publisher's columns (a subscription matches them by
-- name; the generated card_present is computed here, as logical replication
-- does not send generated columns).  Foreign keys stay on the publisher.

CREATE EXTENSION IF NOT EXISTS vigil;

CREATE TABLE transactions (
	transaction_id bigint PRIMARY KEY,
	trans_num text NOT NULL UNIQUE,
	card_id bigint NOT NULL,
	merchant_id bigint NOT NULL,
	category text NOT NULL,
	amount numeric(12, 2) NOT NULL,
	trans_time timestamptz NOT NULL,
	lat float8,
	lon float8,
	is_fraud boolean,
	fraud_pattern text,
	received_at timestamptz NOT NULL,
	card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED
);

-- Watched before the subscription starts: the initial copy of the
-- publisher's rows builds the cards' profiles without raising alerts, and
-- every row applied afterwards is scored as it commits.
SELECT vigil.watch('transactions',
				   key_column => 'card_id',
				   amount_column => 'amount',
				   time_column => 'trans_time',
				   lat_column => 'lat',
				   lon_column => 'lon',
				   merchant_column => 'merchant_id',
				   category_column => 'category',
				   card_present_column => 'card_present',
				   time_zone => 'America/Chicago') > 0 AS watched;

-- disable_on_error: an apply error (a publisher column this table lacks)
-- stops the subscription instead of retrying it in a loop; vigil's own
-- failures never stop it (they go to vigil.skipped).
CREATE SUBSCRIPTION vigil_transactions
	CONNECTION :'publisher'
	PUBLICATION vigil_transactions
	WITH (disable_on_error = true);
