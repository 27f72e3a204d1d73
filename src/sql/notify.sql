
-- Delivery of alerts to Amazon SNS, by the notifier background worker.

CREATE FUNCTION vigil.notifier_running() RETURNS boolean
	AS 'MODULE_PATHNAME', 'vigil_notifier_running'
	LANGUAGE C VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION vigil.notifier_running() IS
	'whether the notifier worker is running (it needs vigil in shared_preload_libraries)';

CREATE FUNCTION vigil.wake_notifier() RETURNS void
	AS 'MODULE_PATHNAME', 'vigil_notifier_wake'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vigil.wake_notifier() IS
	'have the notifier look at the queue when this transaction commits';

-- Dead alerts (or the given ones, if dead) go back to the queue, due now,
-- with their attempts counted from zero.
CREATE FUNCTION vigil.requeue(ids bigint[] DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	n bigint;
BEGIN
	UPDATE vigil.alerts a
	SET status = 'pending', attempts = 0, next_attempt_at = now()
	WHERE (a.status = 'dead'
		   OR (a.status = 'recorded'
			   AND (current_setting('vigil.sns_topic_arn', true) <> ''
					OR EXISTS (SELECT FROM vigil.watches w
							   WHERE w.id = a.watch_id AND w.sns_topic_arn <> ''))))
	  AND (requeue.ids IS NULL OR a.id = ANY (requeue.ids));
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM vigil.wake_notifier();
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION vigil.requeue(bigint[]) FROM PUBLIC;

COMMENT ON FUNCTION vigil.requeue(bigint[]) IS
	'retry dead alerts, and send recorded ones once a topic is set (all, or those with the given ids); returns how many were queued';

CREATE VIEW vigil.delivery_status AS
SELECT s.status,
	   count(a.id) AS alerts,
	   now() - min(a.created_at) AS oldest_age,
	   min(a.next_attempt_at) FILTER (WHERE a.status = 'pending') AS next_attempt_at,
	   max(a.last_attempt_at) AS last_attempt_at,
	   (SELECT e.last_error FROM vigil.alerts e
		WHERE e.status = s.status AND e.last_error IS NOT NULL
		ORDER BY e.last_attempt_at DESC NULLS LAST, e.id DESC LIMIT 1) AS last_error
FROM (VALUES (1, 'pending'), (2, 'sending'), (3, 'sent'), (4, 'dead'), (5, 'recorded'))
	 AS s(ord, status)
	 LEFT JOIN vigil.alerts a ON a.status = s.status
GROUP BY s.ord, s.status
ORDER BY s.ord;

COMMENT ON VIEW vigil.delivery_status IS
	'alerts by delivery status: how many, the oldest one''s age, the next retry, the last error';
