-- Ad-hoc analysis with vigil.stats_agg, for psql or pgAdmin.  These run on
-- the table transactions of examples/schema.sql, as make demo loads it
-- (transaction_id, card_id, amount, trans_time); adapt the names to yours.
--
--   psql "host=127.0.0.1 port=54320 dbname=vigil_demo user=postgres" -f examples/stats_queries.sql

-- Per-card summaries: one vigil.stats per card, read with the accessors.
SELECT card_id,
       vigil.count(s) AS n,
       round(vigil.mean(s)::numeric, 2) AS mean,
       round(vigil.stddev(s)::numeric, 2) AS stddev,
       vigil.min(s) AS min,
       vigil.max(s) AS max
FROM (SELECT card_id, vigil.stats_agg(amount) AS s
      FROM transactions GROUP BY card_id) t
ORDER BY n DESC, card_id
LIMIT 5;

-- Two-step aggregation: summaries per hour, rolled up into one for all the
-- hours without rereading the rows.
WITH hourly AS (
	SELECT date_trunc('hour', trans_time) AS hour, vigil.stats_agg(amount) AS s
	FROM transactions GROUP BY 1
)
SELECT vigil.count(vigil.rollup(s)) AS n,
       round(vigil.mean(vigil.rollup(s))::numeric, 4) AS mean,
       round(vigil.stddev(vigil.rollup(s))::numeric, 4) AS stddev
FROM hourly;

-- Each transaction against the card's previous 50 (a moving window, O(1)
-- per row): how far out is it?  (The amount_zscore rule compares with the
-- card's decayed recent mean instead, in its profile.)
SELECT transaction_id, card_id, amount,
       round(vigil.zscore(prev, amount)::numeric, 1) AS z,
       round(vigil.mean(prev)::numeric, 2) AS usual
FROM (SELECT transaction_id, card_id, amount,
             vigil.stats_agg(amount) OVER (PARTITION BY card_id ORDER BY trans_time
                                           ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING) AS prev
      FROM transactions) w
WHERE vigil.count(prev) >= 10 AND vigil.zscore(prev, amount) > 4
ORDER BY z DESC
LIMIT 10;
