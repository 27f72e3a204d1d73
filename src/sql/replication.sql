
-- Detection beside a database that cannot load vigil (Amazon RDS): a
-- subscriber's apply worker inserts the published rows, and
-- vigil.detect_replicated scores them (src/detect/replica.c).  One row per
-- watched table that a subscription writes: how far the subscription is
-- behind (times come from the publisher's and this server's clocks) next
-- to what vigil made of its rows; plain column types, as the other
-- reporting views, for BI tools.
CREATE VIEW vigil.replication_status AS
SELECT s.subname::text AS subscription,
	   vigil.table_name(w.relation) AS table_name,
	   CASE r.srsubstate
		   WHEN 'i' THEN 'initializing'
		   WHEN 'd' THEN 'copying'
		   WHEN 'f' THEN 'copied'
		   WHEN 's' THEN 'synchronized'
		   WHEN 'r' THEN 'ready'
	   END AS state,
	   s.subenabled AS enabled,
	   st.pid IS NOT NULL AS worker_running,
	   st.last_msg_send_time,
	   st.last_msg_receipt_time,
	   extract(epoch FROM st.last_msg_receipt_time - st.last_msg_send_time)::float8 * 1000
		   AS receipt_delay_ms,
	   extract(epoch FROM now() - st.last_msg_receipt_time)::float8 AS seconds_since_last_message,
	   st.latest_end_lsn::text AS confirmed_lsn,
	   ss.apply_error_count,
	   (SELECT count(*) FROM vigil.alerts a
		WHERE a.relation OPERATOR(pg_catalog.=) w.relation
		  AND a.created_at >= now() - interval '1 hour') AS alerts_last_hour,
	   (SELECT max(a.created_at) FROM vigil.alerts a
		WHERE a.relation OPERATOR(pg_catalog.=) w.relation) AS last_alert_at,
	   (SELECT count(*) FROM vigil.skipped k
		WHERE k.relation OPERATOR(pg_catalog.=) w.relation
		  AND k.skipped_at >= now() - interval '1 hour') AS skipped_last_hour
FROM pg_catalog.pg_subscription s
	 JOIN pg_catalog.pg_subscription_rel r ON r.srsubid = s.oid
	 JOIN vigil.watches w ON w.relation = r.srrelid
	 LEFT JOIN pg_catalog.pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
	 LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid
WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d
				   WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database());

COMMENT ON VIEW vigil.replication_status IS
	'per watched table a subscription writes: its state, the apply worker, the last message''s delay, apply errors, and the last hour''s alerts and skipped rows';

GRANT SELECT ON vigil.replication_status TO vigil_admin, vigil_reader;
