-- Reporting queries for QuickSight, pgAdmin or any BI tool, on the views of
-- schema vigil.  They run as any login role in vigil_reader (see
-- docs/operations.md, "Reporting", and docs/security.md), which can read these
-- five views and nothing else of vigil.  In QuickSight, paste one as a
-- "custom SQL" data set, or pick the view itself and build the visual there.
-- Hour and day buckets are UTC; timestamps are timestamptz.

-- The alert feed: the last 24 hours, newest first (a table visual).
SELECT alert_id, table_name, key, amount, event_time, round(score::numeric, 2) AS score,
       rules, reasons, status, delivered_at, round(delivery_ms::numeric) AS delivery_ms
FROM vigil.alert_feed
WHERE event_time >= now() - interval '24 hours'
ORDER BY event_time DESC
LIMIT 200;

-- Alerts per hour over the last 7 days, with the amount at stake (a line chart).
SELECT hour, sum(alerts) AS alerts, sum(keys) AS cards, round(sum(amount)::numeric, 2) AS amount
FROM vigil.alerts_by_hour
WHERE hour >= now() - interval '7 days'
GROUP BY hour
ORDER BY hour;

-- Which rules fire, day by day, over the last 30 days (a stacked bar chart);
-- sole_hits are the alerts the rule raised on its own.
SELECT day, rule, sum(hits) AS hits, sum(sole_hits) AS sole_hits
FROM vigil.rule_hits_daily
WHERE day >= current_date - 30
GROUP BY day, rule
ORDER BY day, hits DESC;

-- Each rule's share of the last 30 days' alerts: a rule that fires in most
-- alerts, often alone, is the first to tune (UPDATE vigil.rules, as an admin).
SELECT rule, sum(hits) AS hits, sum(sole_hits) AS sole_hits,
       round(100.0 * sum(hits) / nullif(sum(sum(hits)) OVER (), 0), 1) AS pct_of_hits,
       round(avg(avg_score)::numeric, 2) AS avg_score
FROM vigil.rule_hits_daily
WHERE day >= current_date - 30
GROUP BY rule
ORDER BY hits DESC;

-- The riskiest cards: most alerts in the last 30 days, then the highest score.
SELECT table_name, key, transactions, round(mean::numeric, 2) AS mean,
       round(stddev::numeric, 2) AS stddev, alerts_30d, round(max_score_30d::numeric, 2) AS max_score_30d,
       last_alert_at, last_transaction_at
FROM vigil.key_risk
WHERE alerts_30d > 0
ORDER BY alerts_30d DESC, max_score_30d DESC
LIMIT 50;

-- Cards whose recent spending drifted far from their all-time average
-- (recent_mean is decayed with a 30-day half-life), with enough history.
SELECT table_name, key, transactions, round(mean::numeric, 2) AS mean,
       round(recent_mean::numeric, 2) AS recent_mean,
       round((recent_mean / nullif(mean, 0))::numeric, 2) AS drift, alerts_30d
FROM vigil.key_risk
WHERE transactions >= 20 AND recent_mean > 3 * mean
ORDER BY drift DESC
LIMIT 50;

-- Alerting on the alerting (a KPI visual, or a pgAdmin dashboard query):
-- one row; worry when dead_last_hour > 0, oldest_queued_seconds grows, or
-- notifier_running is false.
SELECT pending, sending, sent, dead, round(oldest_queued_seconds::numeric) AS oldest_queued_seconds,
       sent_last_hour, dead_last_hour, round(latency_p50_ms::numeric, 1) AS latency_p50_ms,
       round(latency_p95_ms::numeric, 1) AS latency_p95_ms, last_delivered_at, last_error,
       last_error_at, notifier_running
FROM vigil.delivery_health;

-- Delivery latency per hour of the last day, from the feed (p50 and p99 in ms).
SELECT date_trunc('hour', created_at, 'UTC') AS hour, count(*) AS delivered,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY delivery_ms)::numeric, 1) AS p50_ms,
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY delivery_ms)::numeric, 1) AS p99_ms
FROM vigil.alert_feed
WHERE status = 'sent' AND created_at >= now() - interval '24 hours'
GROUP BY 1
ORDER BY 1;

-- Dead alerts and why (then, as an admin: SELECT vigil.requeue()).
SELECT alert_id, table_name, key, amount, event_time, attempts, last_attempt_at, last_error
FROM vigil.alert_feed
WHERE status = 'dead'
ORDER BY last_attempt_at DESC
LIMIT 50;

-- For admins, not vigil_reader: the maintenance jobs' last runs, in the
-- pg_cron database (cron.database_name).
-- SELECT j.jobname, j.schedule, d.status, d.return_message, d.start_time, d.end_time
-- FROM cron.job j
--      LEFT JOIN LATERAL (SELECT * FROM cron.job_run_details r WHERE r.jobid = j.jobid
--                         ORDER BY r.start_time DESC LIMIT 1) d ON true
-- WHERE j.jobname LIKE 'vigil-%'
-- ORDER BY j.jobname;
