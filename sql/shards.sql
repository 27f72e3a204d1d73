-- Shards number their alerts apart: shard k of n takes ids congruent to k
-- modulo n, after every id it already used.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE txn (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
SELECT vigil.watch('txn', 'card', 'amount', 'ts') > 0 AS watched;
UPDATE vigil.rules SET enabled = (name = 'amount_limit');
UPDATE vigil.rules SET params = '{"limit": 500}' WHERE name = 'amount_limit';
INSERT INTO txn SELECT i, 'c' || i, 900, '2024-01-01 10:00+00' FROM generate_series(1, 4) i;
SELECT max(id) AS last_id FROM vigil.alerts;

SELECT vigil.set_shard(2, 3) AS next_id;
INSERT INTO txn SELECT i, 'c' || i, 900, '2024-01-01 10:00+00' FROM generate_series(5, 8) i;
SELECT id, id % 3 AS residue FROM vigil.alerts WHERE id > 4 ORDER BY id;

-- Again (a shard added: 2 of 4): after the last id, in the new residue.
SELECT vigil.set_shard(2, 4) AS next_id;
INSERT INTO txn VALUES (9, 'c9', 900, '2024-01-01 10:00+00');
SELECT id, id % 4 AS residue FROM vigil.alerts ORDER BY id DESC LIMIT 1;

-- Bad arguments.
SELECT vigil.set_shard(3, 3);
SELECT vigil.set_shard(-1, 3);
SELECT vigil.set_shard(0, 0);
SELECT vigil.set_shard(NULL, 2);
SELECT vigil.set_shard(0, 5000);

-- One node again.
SELECT vigil.set_shard(0, 1) > 0 AS ok;
INSERT INTO txn VALUES (10, 'c10', 900, '2024-01-01 10:00+00'), (11, 'c11', 900, '2024-01-01 10:00+00');
SELECT max(id) - min(id) AS step FROM (SELECT id FROM vigil.alerts ORDER BY id DESC LIMIT 2) l;

DROP TABLE txn;
DROP EXTENSION vigil;
