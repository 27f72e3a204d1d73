-- One batch of the demo's transaction stream: :batch (0-based) of :rows rows.
-- Seeded per batch, so the stream is the same on every run.  One transaction
-- every 4 seconds of event time (nine days for 200,000 rows); each card has
-- its own typical amount; about 0.3% of transactions are injected amount
-- spikes, labelled is_fraud.
SELECT setseed(0.5 / (:batch + 1));
INSERT INTO demo.transactions (card_id, amount, ts, is_fraud)
SELECT card_id,
       round((CASE WHEN fraud THEN typical * (8 + random() * 12)
                   ELSE typical * exp(0.35 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
              END)::numeric, 2),
       timestamptz '2026-11-12 00:00:00+00' + (:batch * :rows + i) * interval '4 s',
       fraud
FROM (SELECT i, 1 + floor(random() * 2000)::int AS card_id, random() < 0.003 AS fraud
      FROM generate_series(1, :rows) i) s
JOIN demo.cards USING (card_id);
