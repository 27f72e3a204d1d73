-- On the Amazon RDS (or Aurora) PostgreSQL database that holds the
-- transactions (examples/schema.sql, without vigil: RDS does not load it).
-- Before this, in the instance's parameter group (a reboot applies it):
--
--   rds.logical_replication = 1        (sets wal_level = logical)
--   max_slot_wal_keep_size  = 10240    (MB: the WAL a stalled subscriber may
--                                       hold back before its slot is dropped,
--                                       instead of filling the disk)
--
-- and a role the subscriber connects as (run once, as the master user):
--
--   CREATE ROLE vigil_subscriber LOGIN PASSWORD '...';
--   GRANT rds_replication TO vigil_subscriber;
--   GRANT SELECT ON transactions TO vigil_subscriber;
--
-- The security group must let the subscriber reach the instance on 5432.

-- Publish the inserts only: vigil scores new rows, never changes.
CREATE PUBLICATION vigil_transactions FOR TABLE transactions WITH (publish = 'insert');
