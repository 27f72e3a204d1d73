
-- Drift: how a model scores the rows arriving now against how it scored
-- its validation rows, so that a team sees when fraud or traffic has moved.

-- Every row in [since, until) with the model's probability (NULL where it
-- cannot score the row) and the watch's score, as replay computes them.
-- Reads the table as its caller, like replay.
CREATE FUNCTION vigil.model_scores(relation regclass, since timestamptz DEFAULT NULL,
								   until timestamptz DEFAULT NULL, model bigint DEFAULT NULL)
	RETURNS TABLE (event_time timestamptz, probability float8, score float8)
	AS 'MODULE_PATHNAME', 'vigil_model_scores'
	LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vigil.model_scores(regclass, timestamptz, timestamptz, bigint) IS
	'each row in [since, until) with the probability the active model (or that model) gives it and the watch''s score, against its key''s profile from every earlier row; changes nothing';

-- A model's scores on two windows of the table: its validation rows
-- ([validation_from, last_event]) and the recent ones (the last `recent`
-- of event time): rows, the share that would alert at the watch's
-- threshold, the mean and quantiles of the probability, and on the recent
-- row the population stability index of the probabilities against the
-- validation ones (above 0.25 is commonly read as a shift; NULL when a
-- window has no row the model scores), over ten bins
-- of fixed, mostly small edges: fraud probabilities are mostly small, and
-- a model's are few distinct values, so deciles would tie.  Each call
-- replays the table twice.
CREATE FUNCTION vigil.drift(relation regclass, recent interval DEFAULT '7 days',
							model bigint DEFAULT NULL)
	RETURNS TABLE (model_id bigint, period text, since timestamptz, until timestamptz, rows bigint,
				   alert_rate float8, mean_probability float8, p50 float8, p90 float8, p99 float8,
				   psi float8)
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	m record;
	threshold float8;
	recent_from timestamptz := now() - recent;
BEGIN
	IF relation IS NULL OR recent IS NULL THEN
		RAISE EXCEPTION USING
			ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'relation and recent must not be NULL';
	END IF;
	IF recent <= interval '0' THEN
		RAISE EXCEPTION USING
			ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('recent must be a positive interval, not %s', recent);
	END IF;
	SELECT w.id, w.alert_threshold INTO m FROM vigil.watches w WHERE w.relation = drift.relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'undefined_object',
			MESSAGE = format('table %s is not watched', drift.relation);
	END IF;
	threshold := m.alert_threshold;
	SELECT mo.id, mo.validation_from, mo.last_event INTO m FROM vigil.models mo
	WHERE mo.watch_id = m.id AND (mo.id = drift.model OR (drift.model IS NULL AND mo.state = 'active'));
	IF NOT FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = CASE WHEN drift.model IS NULL THEN 'object_not_in_prerequisite_state'
						   ELSE 'undefined_object' END,
			MESSAGE = CASE WHEN drift.model IS NULL
						   THEN format('the watch on table %s has no active model', drift.relation)
						   ELSE format('model %s is not one of the watch on table %s', drift.model,
									   drift.relation) END;
	END IF;
	RETURN QUERY
	WITH scores AS (
		SELECT 'validation' AS period, s.probability, s.score
		FROM vigil.model_scores(drift.relation, m.validation_from, m.last_event + interval '1 microsecond',
								m.id) s
		UNION ALL
		SELECT 'recent', s.probability, s.score
		FROM vigil.model_scores(drift.relation, recent_from, NULL, m.id) s
	),
	bins AS (
		SELECT s.period,
			   width_bucket(s.probability, ARRAY[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]::float8[])
				   AS bin,
			   count(*) AS n
		FROM scores s WHERE s.probability IS NOT NULL GROUP BY 1, 2
	),
	shares AS (
		SELECT b.bin,
			   greatest(coalesce(sum(b.n) FILTER (WHERE b.period = 'validation'), 0)
						/ nullif(sum(sum(b.n) FILTER (WHERE b.period = 'validation')) OVER (), 0), 1e-4)
				   AS v,
			   greatest(coalesce(sum(b.n) FILTER (WHERE b.period = 'recent'), 0)
						/ nullif(sum(sum(b.n) FILTER (WHERE b.period = 'recent')) OVER (), 0), 1e-4)
				   AS r
		FROM bins b GROUP BY b.bin
	)
	SELECT m.id, p.period,
		   CASE p.period WHEN 'validation' THEN m.validation_from ELSE recent_from END,
		   CASE p.period WHEN 'validation' THEN m.last_event ELSE now() END,
		   count(s.period),
		   avg((s.score >= threshold)::int)::float8,
		   avg(s.probability),
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY s.probability),
		   percentile_cont(0.9) WITHIN GROUP (ORDER BY s.probability),
		   percentile_cont(0.99) WITHIN GROUP (ORDER BY s.probability),
		   CASE WHEN p.period = 'recent' AND
					 (SELECT count(DISTINCT b.period) FROM bins b) = 2
			   THEN (SELECT sum((sh.r - sh.v) * ln(sh.r / sh.v))::float8 FROM shares sh) END
	FROM (VALUES ('validation'), ('recent')) p (period)
		 LEFT JOIN scores s ON s.period = p.period
	GROUP BY p.period
	ORDER BY p.period DESC;
END
$$;

COMMENT ON FUNCTION vigil.drift(regclass, interval, bigint) IS
	'the active model''s (or that model''s) scores on its validation rows and on the recent ones: rows, alert rate at the watch''s threshold, probability mean and quantiles, population stability index';

-- Each active model's drift over the last 7 days, for dashboards.  Every
-- read replays the watched tables (vigil.drift): snapshot it daily with
-- pg_cron into a table of your own rather than reading it often.
CREATE VIEW vigil.model_drift AS
SELECT w.relation, d.model_id, d.period, d.since, d.until, d.rows, d.alert_rate, d.mean_probability,
	   d.p50, d.p90, d.p99, d.psi
FROM vigil.watches w
	 JOIN vigil.models mo ON mo.watch_id = w.id AND mo.state = 'active'
	 CROSS JOIN LATERAL vigil.drift(w.relation, interval '7 days', mo.id) d;

COMMENT ON VIEW vigil.model_drift IS
	'each active model''s scores on its validation rows and on the last 7 days: alert rate, probability quantiles, population stability index';

REVOKE ALL ON vigil.model_drift FROM PUBLIC;
GRANT SELECT ON vigil.model_drift TO vigil_admin;
REVOKE ALL ON FUNCTION vigil.drift(regclass, interval, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil.drift(regclass, interval, bigint) TO vigil_admin;
