
-- Sharding by card (docs/scale-out.md): each shard numbers its alerts
-- apart from the others, since an alert's id is also its SNS FIFO
-- deduplication id and the key of the coordinator's union of the shards'
-- feeds.  Shard k of n numbers them k mod n: ids stay small numbers that
-- any JSON reader takes exactly, and alerts already there keep theirs.
CREATE FUNCTION vigil.set_shard(shard int, shards int)
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	first_id bigint;
BEGIN
	IF shards IS NULL OR shards < 1 OR shards > 4096 THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('shards must be between 1 and 4096, not %s', coalesce(shards::text, 'NULL'));
	END IF;
	IF shard IS NULL OR shard < 0 OR shard >= shards THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('shard must be between 0 and %s, not %s', shards - 1,
							 coalesce(shard::text, 'NULL')),
			HINT = 'Number the shards 0, 1, ... shards - 1, each once.';
	END IF;
	-- no alert takes an id while they are renumbered
	LOCK TABLE vigil.alerts IN EXCLUSIVE MODE;
	SELECT greatest((SELECT max(a.id) FROM vigil.alerts a),
					(SELECT s.last_value FROM vigil.alerts_id_seq s)) + 1
	INTO first_id;
	first_id := first_id + ((shard - first_id % shards) % shards + shards) % shards;
	EXECUTE format('ALTER SEQUENCE vigil.alerts_id_seq INCREMENT BY %s RESTART WITH %s', shards, first_id);
	RETURN first_id;
END
$$;

COMMENT ON FUNCTION vigil.set_shard(int, int) IS
	'number this node''s alerts as shard shard of shards (ids congruent to shard modulo shards); returns the next alert id';

REVOKE ALL ON FUNCTION vigil.set_shard(int, int) FROM PUBLIC;
