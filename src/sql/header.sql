-- pg_vigil: streaming fraud and anomaly detection inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION vigil" to load this file. \quit

COMMENT ON SCHEMA vigil IS 'pg_vigil: rolling statistics, detection rules and alerts';
