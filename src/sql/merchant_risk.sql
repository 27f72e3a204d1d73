-- Merchant risk: each merchant's share of labelled fraud in the 1, 7 and
-- 30 days before its labels were known, as snapshots
-- (vigil.refresh_merchant_risk), read by the rule kind merchant_risk and
-- by learned models.  An event at time t is judged by the newest snapshot
-- taken at or before t, in detection, replay and training alike.

CREATE TABLE vigil.merchant_risk (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	-- from the labels of the rows before as_of - delay, those known at as_of
	as_of timestamptz NOT NULL,
	-- the merchant column's text; NULL: the snapshot's totals over every
	-- merchant (so that a snapshot with no fraud is still one)
	merchant text,
	-- labelled rows, and fraud among them, in the 1, 7 and 30 days before
	-- as_of - delay
	rows_1d int NOT NULL CHECK (rows_1d >= 0),
	fraud_1d int NOT NULL CHECK (fraud_1d >= 0 AND fraud_1d <= rows_1d),
	rows_7d int NOT NULL CHECK (rows_7d >= rows_1d),
	fraud_7d int NOT NULL CHECK (fraud_7d >= fraud_1d AND fraud_7d <= rows_7d),
	rows_30d int NOT NULL CHECK (rows_30d >= rows_7d),
	fraud_30d int NOT NULL CHECK (fraud_30d >= fraud_7d AND fraud_30d <= rows_30d),
	delay interval NOT NULL,
	UNIQUE NULLS NOT DISTINCT (watch_id, as_of, merchant)
);

COMMENT ON TABLE vigil.merchant_risk IS
	'labelled fraud per merchant of each watch, by snapshot (vigil.refresh_merchant_risk)';

SELECT pg_catalog.pg_extension_config_dump('vigil.merchant_risk', '');

CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.merchant_risk
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

-- Take a snapshot of the watch's merchant risk at as_of from the labels of
-- the rows with event times before as_of - delay (the labels known by
-- as_of: fraud is reported days after it happens): per merchant with fraud
-- among them in the last 30 days of that, the labelled rows and the fraud
-- in its last 1, 7 and 30 days, and the totals over all merchants.  The
-- label column is boolean or an integer 0/1 (another integer is an error);
-- rows whose label or merchant is NULL are not counted.  This assumes that
-- a label is known within delay of its row: labels are read as they are
-- now, so a snapshot taken for a past as_of counts the ones reported late.  A snapshot at the same as_of is replaced, and the watch's
-- snapshots older than as_of - keep are deleted: every backend that
-- detects holds them all.  Reads the table as the caller
-- (vigil.watch_to_read).  Returns the rows written.
CREATE FUNCTION vigil.refresh_merchant_risk(relation regclass, label_column name,
											as_of timestamptz DEFAULT now(),
											delay interval DEFAULT '7 days',
											keep interval DEFAULT '90 days')
	RETURNS int
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
	merchant_col name;
	label_type oid;
	t_expr text;
	f_expr text;
	horizon timestamptz;
	n int;
BEGIN
	IF relation IS NULL OR label_column IS NULL OR as_of IS NULL OR delay IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation, label_column, as_of, delay and keep must not be NULL';
	END IF;
	IF delay < interval '0' OR keep < interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('delay and keep must not be negative, not %s and %s', delay, keep);
	END IF;
	w := vigil.watch_to_read(relation, 'vigil.refresh_merchant_risk');
	IF w.merchant_attnum IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format('the watch on table %s has no merchant column', relation),
			HINT = 'Watch the table with merchant_column.';
	END IF;
	SELECT a.attname INTO merchant_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum;
	SELECT a.atttypid INTO label_type FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attname = label_column AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_column',
			MESSAGE = format('column "%s" of table %s does not exist', label_column, relation);
	END IF;
	IF label_type NOT IN ('boolean'::regtype, 'smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'datatype_mismatch',
			MESSAGE = format('label column "%s" is of type %s, not boolean or integer',
							 label_column, label_type::regtype);
	END IF;

	-- every name is quoted from the catalogs or by format
	t_expr := vigil.event_time_sql(w);
	horizon := as_of - delay;
	-- fraud as vigil.train and vigil.evaluate read it: true, or the integer 1
	f_expr := CASE label_type WHEN 'boolean'::regtype THEN format('t.%I', label_column)
			  ELSE format('t.%I OPERATOR(pg_catalog.=) 1', label_column) END;
	IF label_type <> 'boolean'::regtype THEN
		EXECUTE format('SELECT pg_catalog.count(*) FROM %s AS t WHERE %s OPERATOR(pg_catalog.>=) $1 '
					   'AND %s OPERATOR(pg_catalog.<) $2 AND t.%I NOT IN (0, 1)',
					   w.relation, t_expr, t_expr, label_column)
			INTO n USING horizon - interval '30 days', horizon;
		IF n > 0 THEN
			RAISE EXCEPTION USING
				ERRCODE = 'data_exception',
				MESSAGE = format('label column "%s" must be 0 or 1, not another integer', label_column),
				DETAIL = format('%s of its rows in the 30 days before %s are neither.', n, horizon);
		END IF;
	END IF;

	DELETE FROM vigil.merchant_risk m
	WHERE m.watch_id = w.id AND (m.as_of = refresh_merchant_risk.as_of OR m.as_of < refresh_merchant_risk.as_of - keep);

	-- the merchant's text as detection hashes it (its type's output); rows
	-- without a merchant or a label do not count
	EXECUTE format('WITH r AS ('
				   '  SELECT pg_catalog.format(''%%s'', t.%I) AS m, %s AS t, %s AS f '
				   '  FROM %s AS t '
				   '  WHERE %s OPERATOR(pg_catalog.>=) $5 '
				   '    AND %s OPERATOR(pg_catalog.<) $3 AND t.%I IS NOT NULL AND t.%I IS NOT NULL) '
				   'INSERT INTO vigil.merchant_risk (watch_id, as_of, merchant, rows_1d, fraud_1d, '
				   '                                 rows_7d, fraud_7d, rows_30d, fraud_30d, delay) '
				   'SELECT $1, $2, g.m, g.r1, g.f1, g.r7, g.f7, g.r30, g.f30, $4 FROM ('
				   '  SELECT r.m, '
				   '    pg_catalog.count(*) FILTER (WHERE r.t OPERATOR(pg_catalog.>=) $7) AS r1, '
				   '    pg_catalog.count(*) FILTER (WHERE r.f AND r.t OPERATOR(pg_catalog.>=) $7) AS f1, '
				   '    pg_catalog.count(*) FILTER (WHERE r.t OPERATOR(pg_catalog.>=) $6) AS r7, '
				   '    pg_catalog.count(*) FILTER (WHERE r.f AND r.t OPERATOR(pg_catalog.>=) $6) AS f7, '
				   '    pg_catalog.count(*) AS r30, pg_catalog.count(*) FILTER (WHERE r.f) AS f30 '
				   '  FROM r GROUP BY ROLLUP (r.m)) g(m, r1, f1, r7, f7, r30, f30) '
				   'WHERE g.m IS NULL OR g.f30 OPERATOR(pg_catalog.>) 0 '
				   'ORDER BY g.m NULLS FIRST',
				   merchant_col, t_expr, f_expr, w.relation, t_expr, t_expr, label_column, merchant_col)
		USING w.id, as_of, horizon, delay, horizon - interval '30 days', horizon - interval '7 days',
			  horizon - interval '1 day';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

COMMENT ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) IS
	'take a snapshot of the watch''s merchant risk at as_of from the labels of the rows before as_of - delay (fraud and labelled rows per merchant in 1, 7 and 30 days), dropping snapshots older than as_of - keep; returns the rows written';

REVOKE ALL ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.refresh_merchant_risk(regclass, name, timestamptz, interval, interval) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.merchant_risk TO vigil_admin;
