-- On each shard: a PostgreSQL 15 with vigil (shared_preload_libraries =
-- 'vigil,pg_cron') that holds the transactions of the cards hashed to it
-- and scores them.  All of a card's state is on its shard, so shards never
-- talk to each other.
--
--   psql -d fraud -v ON_ERROR_STOP=1 -v shard=0 -v shards=3 -f examples/sharding/shard.sql
--
-- shard is this node's number, 0 to shards - 1, each used once: alert ids
-- are then unique across shards (vigil.set_shard), as SNS FIFO
-- deduplication and the coordinator's union of the feeds need.

CREATE EXTENSION IF NOT EXISTS vigil;

CREATE TABLE transactions (
	transaction_id bigint PRIMARY KEY,
	trans_num text NOT NULL,
	card_id bigint NOT NULL,
	merchant_id bigint NOT NULL,
	category text NOT NULL,
	amount numeric(12, 2) NOT NULL,
	trans_time timestamptz NOT NULL,
	lat float8,
	lon float8,
	card_present boolean GENERATED ALWAYS AS (lat IS NOT NULL) STORED
);

SELECT vigil.watch('transactions',
				   key_column => 'card_id',
				   amount_column => 'amount',
				   time_column => 'trans_time',
				   lat_column => 'lat',
				   lon_column => 'lon',
				   merchant_column => 'merchant_id',
				   category_column => 'category',
				   card_present_column => 'card_present') > 0 AS watched;

SELECT vigil.set_shard(:shard, :shards) AS first_alert_id;
