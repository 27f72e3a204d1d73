-- Ad-hoc analysis with vigil.stats_agg, for psql or pgAdmin.  These run on
-- the demo's schema (make demo); adapt the table and column names to yours.

-- Per-card summaries: one vigil.stats per card, read with the accessors.
SELECT card_id,
       vigil.count(s) AS n,
       round(vigil.mean(s)::numeric, 2) AS mean,
       round(vigil.stddev(s)::numeric, 2) AS stddev,
       vigil.min(s) AS min,
       vigil.max(s) AS max
FROM (SELECT card_id, vigil.stats_agg(amount) AS s
      FROM demo.transactions GROUP BY card_id) t
ORDER BY n DESC, card_id
LIMIT 5;

-- Two-step aggregation: summaries per hour, rolled up into the whole day
-- without rereading the rows.
WITH hourly AS (
	SELECT date_trunc('hour', ts) AS hour, vigil.stats_agg(amount) AS s
	FROM demo.transactions GROUP BY 1
)
SELECT vigil.count(vigil.rollup(s)) AS n,
       round(vigil.mean(vigil.rollup(s))::numeric, 4) AS mean,
       round(vigil.stddev(vigil.rollup(s))::numeric, 4) AS stddev
FROM hourly;

-- Each transaction against the card's previous 50 (a moving window, O(1)
-- per row): how far out is it?  The same z-score the amount_zscore rule uses.
SELECT id, card_id, amount,
       round(vigil.zscore(prev, amount)::numeric, 1) AS z,
       round(vigil.mean(prev)::numeric, 2) AS usual
FROM (SELECT id, card_id, amount,
             vigil.stats_agg(amount) OVER (PARTITION BY card_id ORDER BY ts
                                           ROWS BETWEEN 50 PRECEDING AND 1 PRECEDING) AS prev
      FROM demo.transactions) w
WHERE vigil.count(prev) >= 10 AND vigil.zscore(prev, amount) > 4
ORDER BY z DESC
LIMIT 10;
