
-- The AnomalyCount metric: alerts per watch per minute, published to
-- Amazon CloudWatch by the notifier when vigil.cloudwatch_namespace is set.

-- How far publishing has come, in (minute, watch) order: every minute
-- before minute is published, and of minute itself the watches with an id
-- up to watch_id.  The notifier moves it on only after CloudWatch took the
-- data, so a restart neither publishes a minute twice nor skips one.  One
-- row, made by the notifier when it first publishes.  Not dumped: it is
-- the state of this server's notifier, and a restored database starts
-- afresh at the current minute.
CREATE TABLE vigil.metric_cursor (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	minute timestamptz NOT NULL,
	watch_id int NOT NULL DEFAULT 0,
	-- the last request's failure, NULL once one succeeds
	last_error text,
	last_attempt_at timestamptz
);

COMMENT ON TABLE vigil.metric_cursor IS
	'how far the notifier has published AnomalyCount to CloudWatch, and its last error';

-- Each minute's counts read the alerts created in that minute.
CREATE INDEX alerts_created_at ON vigil.alerts (created_at);
