-- pg_vigil: upgrade from 0.1 to 0.2 (ALTER EXTENSION vigil UPDATE).
-- Every schema change of 0.2 is here as well as in src/sql/, so an updated
-- database has the same objects as a fresh CREATE EXTENSION (test/t/010_upgrade.pl
-- compares them).

\echo Use "ALTER EXTENSION vigil UPDATE TO '0.2'" to load this file. \quit
