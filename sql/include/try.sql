\set vigil_try_echo :ECHO
\set ECHO none
-- try(stmt): run one statement and return 'ok', or the error it raised as
-- "SQLSTATE: message / detail", cut at 150 characters (some errors echo
-- their whole input), so that a test shows many failures in one table.
-- PostgreSQL's "Failing row contains (...)" detail is left out: it prints
-- every column of the row, times from now() among them.
-- The regress files that need it include it with \i, by the path under
-- pg_regress's PG_ABS_SRCDIR; it echoes nothing of itself.
CREATE FUNCTION try(stmt text) RETURNS text
	LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL;
	IF detail LIKE 'Failing row contains %' THEN
		detail := NULL;
	END IF;
	msg := state || ': ' || msg || coalesce(' / ' || nullif(detail, ''), '');
	RETURN CASE WHEN length(msg) > 150 THEN left(msg, 147) || '...' ELSE msg END;
END
$$;
\set ECHO :vigil_try_echo
