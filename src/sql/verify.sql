-- Checking the live profiles against the table's rows: vigil.verify.

-- Reads the table as its caller (SELECT on it, every row visible) and the
-- stored profiles too (SELECT on vigil.profiles); writes nothing, and reads
-- everything with the calling statement's snapshot.
CREATE FUNCTION vigil.verify(relation regclass, since timestamptz DEFAULT NULL)
	RETURNS TABLE (key text, status text, differences text[], stored jsonb, rebuilt jsonb)
	AS 'MODULE_PATHNAME', 'vigil_verify'
	LANGUAGE C STABLE;

COMMENT ON FUNCTION vigil.verify(regclass, timestamptz) IS
	'each key whose stored profile differs from the one rebuilt from the table''s rows since then (NULL: all): differs, no_profile or no_rows; changes nothing';
