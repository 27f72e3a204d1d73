-- On the coordinator: the application inserts into transactions here, and
-- PostgreSQL routes each row to the shard its card hashes to
-- (PARTITION BY HASH, each partition a postgres_fdw foreign table on a
-- shard); vigil.alert_feed and vigil.key_risk of every shard read as one,
-- alert_feed and key_risk.  The coordinator needs no vigil.  On each shard,
-- the role the coordinator connects as needs INSERT on transactions and
-- vigil_reader (the views).  First list the shards, in the order of
-- their numbers (vigil.set_shard on each):
--
--   CREATE TABLE shard_nodes (shard int PRIMARY KEY, host text NOT NULL, port int NOT NULL,
--                             dbname text NOT NULL, user_name text NOT NULL, password text);
--   INSERT INTO shard_nodes VALUES (0, 'shard0.internal', 5432, 'fraud', 'vigil_coordinator', '...'), ...;
--   psql -d app -v ON_ERROR_STOP=1 -f examples/sharding/coordinator.sql
--
-- A card's rows must always reach the same shard: the number of shards is
-- fixed once rows are in (changing it means moving every card's rows and
-- profile, vigil.rebuild on each shard).

CREATE EXTENSION IF NOT EXISTS postgres_fdw;

CREATE TABLE transactions (
	transaction_id bigserial,
	trans_num text NOT NULL,
	card_id bigint NOT NULL,
	merchant_id bigint NOT NULL,
	category text NOT NULL,
	amount numeric(12, 2) NOT NULL,
	trans_time timestamptz NOT NULL,
	lat float8,
	lon float8
) PARTITION BY HASH (card_id);

-- One server, user mapping and partition per shard.  batch_size sends a
-- statement's rows to a shard 100 at a time instead of one INSERT each.
SELECT format('CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw '
			  'OPTIONS (host %L, port %L, dbname %L, batch_size %L)',
			  'shard_' || shard, host, port, dbname, '100'),
	   format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (user %L%s)',
			  'shard_' || shard, user_name,
			  CASE WHEN password IS NOT NULL THEN format(', password %L', password) ELSE '' END),
	   format('CREATE FOREIGN TABLE %I PARTITION OF transactions '
			  'FOR VALUES WITH (MODULUS %s, REMAINDER %s) SERVER %I '
			  'OPTIONS (schema_name %L, table_name %L)',
			  'transactions_' || shard, (SELECT count(*) FROM shard_nodes), shard,
			  'shard_' || shard, 'public', 'transactions'),
	   format('CREATE SCHEMA %I', 'shard_' || shard),
	   format('IMPORT FOREIGN SCHEMA vigil LIMIT TO (alert_feed, key_risk) FROM SERVER %I INTO %I',
			  'shard_' || shard, 'shard_' || shard)
FROM shard_nodes ORDER BY shard
\gexec

-- Every shard's alerts as one feed, and every card's risk, for QuickSight
-- and pgAdmin: alert ids are unique across shards, and shard says where
-- each row lives.
SELECT format('CREATE VIEW %I AS ', v)
	   || string_agg(format('SELECT %s AS shard, f.* FROM %I.%I f', shard, 'shard_' || shard, v),
					 ' UNION ALL ' ORDER BY shard)
FROM shard_nodes CROSS JOIN (VALUES ('alert_feed'), ('key_risk')) AS views (v)
GROUP BY v
\gexec
