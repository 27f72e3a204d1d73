-- The detection engine: per-key profiles, watches, rules as data, alerts.

CREATE TYPE vigil.profile;

CREATE FUNCTION vigil.profile_in(cstring) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_profile_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_out(vigil.profile) RETURNS cstring
	AS 'MODULE_PATHNAME', 'vigil_profile_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_recv(internal) RETURNS vigil.profile
	AS 'MODULE_PATHNAME', 'vigil_profile_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vigil.profile_send(vigil.profile) RETURNS bytea
	AS 'MODULE_PATHNAME', 'vigil_profile_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vigil.profile (
	INPUT = vigil.profile_in,
	OUTPUT = vigil.profile_out,
	RECEIVE = vigil.profile_recv,
	SEND = vigil.profile_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE vigil.profile IS
	'what detection knows about one key: amount statistics, recent events, location, hours, merchants';

CREATE FUNCTION vigil.profile_json(vigil.profile) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'vigil_profile_json'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vigil.profile_json(vigil.profile) IS
	'the profile for people: n, mean, stddev, min, max, recent mean and stddev, last time and location, ...';

-- One row per watched table.  Columns are kept as attribute numbers, so
-- renaming a watched column does not break detection; vigil.watch_columns
-- shows their current names.
CREATE TABLE vigil.watches (
	id serial PRIMARY KEY,
	relation regclass NOT NULL UNIQUE,
	key_attnum int2 NOT NULL CHECK (key_attnum > 0),
	amount_attnum int2 NOT NULL CHECK (amount_attnum > 0),
	time_attnum int2 NOT NULL CHECK (time_attnum > 0),
	lat_attnum int2 CHECK (lat_attnum > 0),
	lon_attnum int2 CHECK (lon_attnum > 0),
	merchant_attnum int2 CHECK (merchant_attnum > 0),
	category_attnum int2 CHECK (category_attnum > 0),
	alert_threshold float8 NOT NULL DEFAULT 0.5
		CHECK (alert_threshold > 0 AND alert_threshold <= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- where this watch's alerts go; NULL: vigil.sns_topic_arn
	sns_topic_arn text CHECK (sns_topic_arn ~ '^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\.fifo)?$'),
	-- what an error inside detection does: fail the insert (raise), or let
	-- it commit unscored, the rows recorded in vigil.skipped (skip)
	on_error text NOT NULL DEFAULT 'raise' CHECK (on_error IN ('raise', 'skip')),
	-- a location is both coordinates or neither
	CONSTRAINT watches_location_check CHECK ((lat_attnum IS NULL) = (lon_attnum IS NULL)),
	-- a boolean column saying whether the card was present: only then is
	-- the row's location where the card was (online merchants' coordinates
	-- are not); it needs a location to qualify
	card_present_attnum int2 CHECK (card_present_attnum > 0),
	CONSTRAINT watches_card_present_check CHECK (card_present_attnum IS NULL OR lat_attnum IS NOT NULL),
	-- where hours of the day are counted (a name of pg_timezone_names);
	-- profiles hold hours in it, so a change needs vigil.rebuild
	time_zone text NOT NULL DEFAULT 'UTC',
	-- the table's own label column (vigil.set_label): boolean, or an
	-- integer 0 or 1, set when fraud is known (chargebacks); vigil.train
	-- and vigil.retrain read it beside analysts' verdicts (vigil.verdicts)
	label_attnum int2 CHECK (label_attnum > 0),
	-- rows younger than this are left out of training unless an analyst
	-- labelled them: their labels may not be known yet
	label_maturity interval NOT NULL DEFAULT '30 days' CHECK (label_maturity >= interval '0'),
	-- the share of rows vigil.retrain calibrates the threshold to when it
	-- activates a model; NULL: it keeps the threshold
	alert_budget float8 CHECK (alert_budget > 0 AND alert_budget < 1)
);

COMMENT ON TABLE vigil.watches IS 'tables under detection (vigil.watch, vigil.unwatch)';

CREATE TABLE vigil.rules (
	watch_id int NOT NULL REFERENCES vigil.watches (id) ON DELETE CASCADE,
	name text NOT NULL,
	kind text NOT NULL,
	params jsonb NOT NULL DEFAULT '{}',
	weight float8 NOT NULL DEFAULT 1 CHECK (weight >= 0 AND weight <= 1),
	enabled boolean NOT NULL DEFAULT true,
	PRIMARY KEY (watch_id, name)
);

COMMENT ON TABLE vigil.rules IS
	'detection rules: change params, weight or enabled with UPDATE; effective from the next statement';

-- No foreign key to vigil.watches: the check would cost every new key a
-- lookup on the hot path, and unwatch() removes a watch's profiles itself.
-- Keys compare bytewise (COLLATE "C"): every statement finds its keys'
-- rows through the primary key, and a locale's collation would cost each
-- comparison of that search a strcoll() for an order nobody reads; it is
-- also the order detection locks keys in.  A profile row is about 560
-- bytes; fillfactor 50 leaves room on each page for a new version of every
-- row on it, so that a statement updating many keys once each (a COPY)
-- updates them all in place (HOT), without new index entries: with 70,
-- six rows in ten moved to another page.
CREATE TABLE vigil.profiles (
	watch_id int NOT NULL,
	key text COLLATE "C" NOT NULL,
	profile vigil.profile,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (watch_id, key)
) WITH (fillfactor = 50);

COMMENT ON TABLE vigil.profiles IS 'one profile per watched key, maintained by the detection trigger';

CREATE TABLE vigil.alerts (
	id bigserial PRIMARY KEY,
	watch_id int NOT NULL,
	relation regclass NOT NULL,
	row_ref jsonb NOT NULL,
	key text NOT NULL,
	amount float8 NOT NULL,
	event_time timestamptz NOT NULL,
	score float8 NOT NULL,
	fired text[] NOT NULL,
	explanation jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	-- recorded: raised where no SNS topic was set, kept for the views and
	-- never queued for delivery (vigil.requeue queues them)
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'recorded')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_attempt_at timestamptz,
	delivered_at timestamptz,
	message_id text,
	last_error text
);

-- The notifier's queue, in the order it claims from: with id in the key,
-- a batch is the first rows of an index scan however many alerts are due
-- at the same instant (all of one statement's are).
CREATE INDEX alerts_due ON vigil.alerts (next_attempt_at, id) WHERE status = 'pending';

COMMENT ON TABLE vigil.alerts IS 'flagged transactions, and their delivery state (an outbox)';

-- Rows detection could not score (NULL key, amount or time; NaN or
-- infinite amount; out-of-range location), with the reason.
CREATE TABLE vigil.skipped (
	watch_id int NOT NULL,
	relation regclass NOT NULL,
	row_ref jsonb NOT NULL,
	reason text NOT NULL,
	skipped_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE vigil.skipped IS 'inserted rows that detection did not score, and why';

-- Users' data: pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('vigil.watches', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.watches_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.rules', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.alerts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.skipped', '');

CREATE VIEW vigil.watch_columns AS
SELECT w.id AS watch_id, w.relation,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.key_attnum) AS key_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.amount_attnum) AS amount_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.time_attnum) AS time_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lat_attnum) AS lat_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.lon_attnum) AS lon_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.merchant_attnum) AS merchant_column,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.category_attnum) AS category_column,
	   w.alert_threshold,
	   (SELECT count(*) FROM vigil.skipped s WHERE s.watch_id = w.id) AS rows_skipped,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.card_present_attnum) AS card_present_column,
	   w.time_zone,
	   (SELECT attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = w.relation AND a.attnum = w.label_attnum) AS label_column
FROM vigil.watches w;

COMMENT ON VIEW vigil.watch_columns IS 'watches with their columns by current name, and how many rows were skipped';

CREATE VIEW vigil.profile_summary AS
SELECT p.watch_id, w.relation, p.key,
	   (j ->> 'n')::bigint AS n,
	   (j ->> 'mean')::float8 AS mean,
	   (j ->> 'stddev')::float8 AS stddev,
	   (j ->> 'min')::float8 AS min,
	   (j ->> 'max')::float8 AS max,
	   (j ->> 'recent_mean')::float8 AS recent_mean,
	   (j ->> 'last_time')::timestamptz AS last_seen,
	   p.updated_at
FROM vigil.profiles p
	 JOIN vigil.watches w ON w.id = p.watch_id,
	 LATERAL vigil.profile_json(p.profile) j
WHERE p.profile IS NOT NULL;

COMMENT ON VIEW vigil.profile_summary IS 'per-key profiles in columns, for people and BI tools';
