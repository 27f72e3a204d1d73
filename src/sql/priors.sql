-- Population priors: what a watch's cards pay per category and when they
-- pay, as snapshots (vigil.refresh_priors), read by the category_amount and
-- quiet_hour rules.  An event at time t is judged by the newest snapshot
-- taken at or before t, in detection and in replay alike.

CREATE TABLE vigil.priors (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	-- built from the rows before this time (and within the refresh's history)
	as_of timestamptz NOT NULL,
	-- the category column's text; NULL: every row of the watch
	category text,
	n bigint NOT NULL CHECK (n > 0),
	-- of ln(amount), over the positive amounts
	log_mean float8 NOT NULL,
	log_stddev float8 NOT NULL CHECK (log_stddev >= 0),
	-- every row's share per local hour (0-23, the watch's time zone); NULL
	-- but for category NULL
	hour_shares float8[] CHECK (hour_shares IS NULL OR cardinality(hour_shares) = 24),
	UNIQUE NULLS NOT DISTINCT (watch_id, as_of, category)
);

COMMENT ON TABLE vigil.priors IS 'population priors of each watch, by snapshot (vigil.refresh_priors)';

SELECT pg_catalog.pg_extension_config_dump('vigil.priors', '');

CREATE TRIGGER invalidate_watches AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vigil.priors
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.invalidate_watches();

-- The watch on relation, with its table locked for reading and checked to
-- be readable whole by the caller: fname, the calling function, reads it
-- as its caller, and a table whose row-level security applies would give
-- it some rows only, through policies that are the table owner's code.
-- The lock comes before the check, so that no policy added meanwhile
-- applies.
CREATE FUNCTION vigil.watch_to_read(relation regclass, fname text)
	RETURNS vigil.watches
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
BEGIN
	SELECT * INTO w FROM vigil.watches ws WHERE ws.relation = watch_to_read.relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', relation),
			HINT = 'Call vigil.watch() first.';
	END IF;
	EXECUTE format('LOCK TABLE %s IN ACCESS SHARE MODE', w.relation);
	IF row_security_active(w.relation) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = format('%s must read every row of table %s', fname, w.relation),
			DETAIL = 'Row-level security applies to the current user.',
			HINT = 'Run it as a role the policies do not apply to: a superuser, a role with BYPASSRLS, or the table''s owner unless the table forces row security.';
	END IF;
	RETURN w;
END
$$;

REVOKE ALL ON FUNCTION vigil.watch_to_read(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.watch_to_read(regclass, text) TO vigil_admin;

-- SQL for the event time of a row t of the watched table, as detection
-- reads it: a timestamp is UTC, an integer seconds since the epoch.  The
-- column's name is quoted from the catalog.
CREATE FUNCTION vigil.event_time_sql(w vigil.watches)
	RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
	AS $$
SELECT CASE a.atttypid
		   WHEN 'timestamptz'::regtype THEN format('t.%I', a.attname)
		   WHEN 'timestamp'::regtype THEN format('(t.%I AT TIME ZONE ''UTC'')', a.attname)
		   ELSE format('pg_catalog.to_timestamp(t.%I)', a.attname)
	   END
FROM pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum
$$;

REVOKE ALL ON FUNCTION vigil.event_time_sql(vigil.watches) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.event_time_sql(vigil.watches) TO vigil_admin;

-- Take a snapshot of the watch's population priors from the table's rows
-- with event times in [as_of - history, as_of): per category (the 200 most
-- frequent) and over all rows, the count, mean and standard deviation of
-- ln(amount) over positive amounts; over all rows, the share per hour of
-- the day in the watch's time zone.  A snapshot at the same as_of is
-- replaced, and the watch's snapshots older than as_of - keep are deleted:
-- every backend that detects holds them all, so what is kept bounds its
-- memory.  Reads the table as the caller, refusing a table whose row-level
-- security applies to the caller (the snapshot would be of some rows, and
-- the policies are the table owner's code).  Returns the rows written.
CREATE FUNCTION vigil.refresh_priors(relation regclass, as_of timestamptz DEFAULT now(),
									 history interval DEFAULT '90 days',
									 keep interval DEFAULT '90 days')
	RETURNS int
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	w vigil.watches;
	amount_col name;
	cat_col name;
	t_expr text;
	window_sql text;
	hours float8[];
	zone text;
	n int;
	written int := 0;
BEGIN
	IF relation IS NULL OR as_of IS NULL OR history IS NULL OR keep IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation, as_of, history and keep must not be NULL';
	END IF;
	IF history <= interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('history must be a positive interval, not %s', history);
	END IF;
	IF keep < interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('keep must not be negative, not %s', keep);
	END IF;
	w := vigil.watch_to_read(relation, 'vigil.refresh_priors');
	SELECT a.attname INTO amount_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum;
	SELECT a.attname INTO cat_col FROM pg_attribute a
	WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum;

	-- every name is quoted from the catalogs
	t_expr := vigil.event_time_sql(w);
	window_sql := format('FROM %s AS t WHERE %s >= $3 AND %s < $2 AND t.%I IS NOT NULL',
						 w.relation, t_expr, t_expr, amount_col);

	DELETE FROM vigil.priors p
	WHERE p.watch_id = w.id AND (p.as_of = refresh_priors.as_of OR p.as_of < refresh_priors.as_of - keep);

	-- hours of the day as detection counts them, by the zone's rules (AT
	-- TIME ZONE would read a name that is also an abbreviation, such as
	-- CET, as a fixed offset); the setting is restored before returning
	zone := current_setting('TimeZone');
	PERFORM set_config('TimeZone', w.time_zone, true);
	EXECUTE format('SELECT pg_catalog.array_agg(COALESCE(c.n, 0)::pg_catalog.float8 / tot.n ORDER BY hh) '
				   'FROM pg_catalog.generate_series(0, 23) hh '
				   'CROSS JOIN (SELECT pg_catalog.count(*) AS n %s) tot '
				   'LEFT JOIN (SELECT pg_catalog.date_part(''hour'', %s)::int AS h, '
				   '                  pg_catalog.count(*) AS n %s GROUP BY 1) c ON c.h = hh '
				   'WHERE tot.n > 0',
				   window_sql, t_expr, window_sql)
		INTO hours USING w.id, as_of, as_of - history;
	PERFORM set_config('TimeZone', zone, true);

	EXECUTE format('INSERT INTO vigil.priors (watch_id, as_of, category, n, log_mean, log_stddev, hour_shares) '
				   'SELECT $1, $2, NULL, pg_catalog.count(*), pg_catalog.avg(s.l), '
				   '       COALESCE(pg_catalog.stddev_pop(s.l), 0), $4 '
				   'FROM (SELECT pg_catalog.ln(t.%I::pg_catalog.float8) AS l %s AND t.%I > 0) s '
				   'HAVING pg_catalog.count(*) > 0',
				   amount_col, window_sql, amount_col)
		USING w.id, as_of, as_of - history, hours;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;

	IF cat_col IS NOT NULL THEN
		EXECUTE format('INSERT INTO vigil.priors (watch_id, as_of, category, n, log_mean, log_stddev) '
					   'SELECT $1, $2, s.c, pg_catalog.count(*), pg_catalog.avg(s.l), '
					   '       COALESCE(pg_catalog.stddev_pop(s.l), 0) '
					   'FROM (SELECT pg_catalog.format(''%%s'', t.%I) AS c, '
					   '             pg_catalog.ln(t.%I::pg_catalog.float8) AS l '
					   '      %s AND t.%I > 0 AND t.%I IS NOT NULL) s '
					   'GROUP BY s.c ORDER BY pg_catalog.count(*) DESC, s.c LIMIT 200',
					   cat_col, amount_col, window_sql, amount_col, cat_col)
			USING w.id, as_of, as_of - history;
		GET DIAGNOSTICS n = ROW_COUNT;
		written := written + n;
	END IF;
	RETURN written;
END
$$;

COMMENT ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) IS
	'take a snapshot of the watch''s population priors (amounts per category, traffic per hour) from the rows in [as_of - history, as_of), dropping snapshots older than as_of - keep; returns the rows written';

REVOKE ALL ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.refresh_priors(regclass, timestamptz, interval, interval) TO vigil_admin;
GRANT SELECT, INSERT, DELETE ON vigil.priors TO vigil_admin;
