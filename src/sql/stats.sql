-- The vigil.stats summary type, the stats_agg and rollup aggregates, and
-- the accessors that read a summary.

CREATE TYPE vigil.stats;

CREATE FUNCTION vigil.stats_in(cstring) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_out(vigil.stats) RETURNS cstring
	AS 'MODULE_PATHNAME', 'vigil_stats_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_recv(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_send(vigil.stats) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_stats_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vigil.stats (
	INPUT = vigil.stats_in,
	OUTPUT = vigil.stats_out,
	RECEIVE = vigil.stats_recv,
	SEND = vigil.stats_send,
	INTERNALLENGTH = 40,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE vigil.stats IS
	'summary of float8 values: count, mean, sum of squared deviations (m2), min, max';

-- Aggregate support.  They take or return internal, so SQL cannot call them
-- directly; only the aggregates below can.

CREATE FUNCTION vigil.stats_trans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_trans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_rollup_trans(internal, vigil.stats) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_rollup_trans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_stats_serialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_deserialize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.stats_final(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_mtrans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_mtrans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_minvtrans(internal, float8) RETURNS internal
	AS 'MODULE_PATHNAME', 'vigil_stats_minvtrans'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION vigil.stats_mfinal(internal) RETURNS vigil.stats
	AS 'MODULE_PATHNAME', 'vigil_stats_mfinal'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE vigil.stats_agg(float8) (
	SFUNC = vigil.stats_trans,
	STYPE = internal,
	SSPACE = 48,
	FINALFUNC = vigil.stats_final,
	COMBINEFUNC = vigil.stats_combine,
	SERIALFUNC = vigil.stats_serialize,
	DESERIALFUNC = vigil.stats_deserialize,
	MSFUNC = vigil.stats_mtrans,
	MINVFUNC = vigil.stats_minvtrans,
	MSTYPE = internal,
	MSSPACE = 600,
	MFINALFUNC = vigil.stats_mfinal,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE vigil.stats_agg(float8) IS
	'summary (vigil.stats) of the non-null finite values; NaN and infinities are ignored';

CREATE AGGREGATE vigil.rollup(vigil.stats) (
	SFUNC = vigil.stats_rollup_trans,
	STYPE = internal,
	SSPACE = 48,
	FINALFUNC = vigil.stats_final,
	COMBINEFUNC = vigil.stats_combine,
	SERIALFUNC = vigil.stats_serialize,
	DESERIALFUNC = vigil.stats_deserialize,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE vigil.rollup(vigil.stats) IS
	'merges summaries into the summary of all their values';

-- Accessors.

CREATE FUNCTION vigil.count(vigil.stats) RETURNS bigint
	AS 'MODULE_PATHNAME', 'vigil_stats_count'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.count(vigil.stats) IS 'number of values summarised';

CREATE FUNCTION vigil.mean(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_mean'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.mean(vigil.stats) IS 'mean of the values';

CREATE FUNCTION vigil.variance(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_variance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.variance(vigil.stats) IS
	'sample variance, like var_samp; NULL for one value';

CREATE FUNCTION vigil.stddev(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_stddev'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.stddev(vigil.stats) IS
	'sample standard deviation, like stddev_samp; NULL for one value';

CREATE FUNCTION vigil.min(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_min'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.min(vigil.stats) IS 'smallest value';

CREATE FUNCTION vigil.max(vigil.stats) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_max'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.max(vigil.stats) IS 'largest value';

CREATE FUNCTION vigil.zscore(vigil.stats, float8) RETURNS float8
	AS 'MODULE_PATHNAME', 'vigil_stats_zscore'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vigil.zscore(vigil.stats, float8) IS
	'(x - mean) / sample standard deviation; NULL when fewer than two values or all equal';
