-- The vigil.profile type: text and binary round trips, and input that no
-- fold could have produced is rejected.
\set SHOW_CONTEXT never
CREATE EXTENSION vigil;

CREATE TABLE txn (id int PRIMARY KEY, card text, amount float8, ts timestamptz,
				  lat float8, lon float8, merchant text);
SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant') > 0 AS watched;
INSERT INTO txn SELECT i, 'c', 10 + i % 7, timestamptz '2026-11-01' + i * interval '3 hours',
					   48.85, 2.35, 'm' || i % 3
FROM generate_series(1, 30) i;

SELECT vigil.profile_json(profile) FROM vigil.profiles;
SELECT key, n, round(mean::numeric, 4) AS mean, round(stddev::numeric, 4) AS stddev, min, max,
	   last_seen
FROM vigil.profile_summary;
SELECT octet_length(vigil.profile_send(profile)) AS payload_bytes,
	   pg_column_size(profile) AS stored_bytes
FROM vigil.profiles;

-- The text form starts with a summary and ends with the exact payload.
SELECT substr(profile::text, 1, position(',data:' IN profile::text)) AS summary FROM vigil.profiles;
SELECT profile::text::vigil.profile::text = profile::text AS text_round_trip FROM vigil.profiles;

-- Binary round trip through COPY (FORMAT binary).
CREATE TABLE prof_copy (p vigil.profile);
DO $$BEGIN
  EXECUTE format('COPY (SELECT profile FROM vigil.profiles) TO %L (FORMAT binary)',
				 current_setting('data_directory') || '/profile.bin');
END$$;
COPY prof_copy FROM PROGRAM 'cat profile.bin' (FORMAT binary);
SELECT p::text = (SELECT profile::text FROM vigil.profiles) AS binary_round_trip FROM prof_copy;
-- A corrupted version number (byte 25 is the first payload byte).
COPY prof_copy FROM PROGRAM 'head -c 25 profile.bin; printf "\377"; tail -c +27 profile.bin' (FORMAT binary);
-- A lying length word (503: the payload is 888 bytes).
COPY prof_copy FROM PROGRAM 'head -c 21 profile.bin; printf "\000\000\001\367"; tail -c +26 profile.bin' (FORMAT binary);
COPY prof_copy FROM PROGRAM 'rm profile.bin';

-- Malformed and corrupted text.
SELECT '(n:1)'::vigil.profile;
SELECT '(n:1,data:\x00)'::vigil.profile;
SELECT ('(n:1,data:\x' || repeat('zz', 504) || ')')::vigil.profile;
SELECT regexp_replace(profile::text, 'data:\\x..', 'data:\x09')::vigil.profile FROM vigil.profiles;
-- the amount count (bytes 8..15 of the payload) set to 0 on a non-empty profile
SELECT regexp_replace(profile::text, '(data:\\x.{16}).{16}', '\10000000000000000')::vigil.profile
FROM vigil.profiles;

-- fold_profile belongs to the detection trigger.
SELECT vigil.fold_profile('c', NULL);

DROP TABLE txn, prof_copy;
DROP EXTENSION vigil;
