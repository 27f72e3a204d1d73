-- Row-level security on a watched table.  Its policies are the table
-- owner's code, and would run as whoever reads the table: an admin's
-- rebuild, or any reader's replay, would lend them their rights (and a
-- policy hiding rows would make rebuild drop those keys' profiles).  So
-- replay, rebuild, rebuild_all and verify refuse such a table with 42501
-- before they read a row, and no policy runs; the owner (to whom the
-- policies do not apply) and superusers read it as before.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE EXTENSION vigil;

CREATE ROLE regress_rls_owner LOGIN IN ROLE vigil_reader;
CREATE ROLE regress_rls_admin LOGIN IN ROLE vigil_admin;
CREATE ROLE regress_rls_reader LOGIN IN ROLE vigil_reader;
GRANT CREATE ON SCHEMA public TO regress_rls_owner;

-- Who ran the owner's policy function, as whom.
CREATE TABLE policy_calls (who name);
GRANT INSERT ON policy_calls TO PUBLIC;

SET ROLE regress_rls_owner;
CREATE TABLE evet (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
CREATE FUNCTION evet_policy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.policy_calls VALUES (current_user);
	RETURN true;
END
$$;
ALTER TABLE evet ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON evet USING (evet_policy());
GRANT SELECT ON evet TO regress_rls_admin, regress_rls_reader;
RESET ROLE;
SELECT vigil.watch('evet', 'card', 'amount', 'ts') > 0 AS watched;
INSERT INTO evet SELECT i, 'card-' || i % 2, 10 + i, timestamptz '2026-01-01' + i * interval '1 hour'
FROM generate_series(1, 6) i;

-- An admin's maintenance and a reader's backtest are refused.
SET ROLE regress_rls_admin;
SELECT vigil.rebuild('evet');
SELECT * FROM vigil.rebuild_all();
SELECT count(*) FROM vigil.verify('evet');
SET ROLE regress_rls_reader;
SELECT count(*) FROM vigil.replay('evet');
RESET ROLE;
SELECT count(*) AS policy_calls FROM policy_calls;
SELECT count(*) AS profiles_kept FROM vigil.profiles;

-- The owner and a superuser read the table; the policy does not run.
SET ROLE regress_rls_owner;
SELECT count(*) AS replayed_by_owner FROM vigil.replay('evet');
RESET ROLE;
SELECT vigil.rebuild('evet') AS rebuilt_by_superuser;
SELECT count(*) AS policy_calls FROM policy_calls;

-- FORCE ROW LEVEL SECURITY applies the policies to the owner too: refused.
ALTER TABLE evet FORCE ROW LEVEL SECURITY;
SET ROLE regress_rls_owner;
SELECT count(*) FROM vigil.replay('evet');
RESET ROLE;
SELECT count(*) AS policy_calls FROM policy_calls;

DROP TABLE evet, policy_calls;
DROP FUNCTION evet_policy();
DROP EXTENSION vigil;
REVOKE CREATE ON SCHEMA public FROM regress_rls_owner;
DROP ROLE regress_rls_owner, regress_rls_admin, regress_rls_reader;
