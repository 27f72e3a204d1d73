-- Bad input: every function and type of the extension fed NULLs, NaN,
-- infinities, extreme magnitudes, empty and very long strings, wrong types,
-- missing, dropped and renamed relations and columns, quoted, mixed-case
-- and unicode identifiers, malformed text and binary input (corrupted bytes,
-- lying length words) and invalid rule parameters.  Each gets an error with
-- a proper SQLSTATE (never XX000, the internal error) or the behaviour the
-- README documents; nothing crashes a backend, and no profile is changed by
-- input it refused.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE EXTENSION vigil;

-- try(stmt): 'ok', or the error's SQLSTATE, message and detail (sql/include/try.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
\set try_sql :abs_srcdir '/sql/include/try.sql'
\i :try_sql

-- Run a binary COPY into tbl of one row of one field: the bytes of payload
-- behind a length word of len.  Without len, the file is what a binary COPY
-- of the payload as a bytea writes, which has the same wire format; with
-- it, the file is made from scratch, so the length word can lie.
CREATE FUNCTION copy_in(tbl text, payload bytea, len int DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql AS $$
DECLARE
	path text := current_setting('data_directory') || '/badinput.bin';
	file bytea := '\x5047434f50590aff0d0a00'::bytea	-- PGCOPY\n\377\r\n\0
		|| '\x0000000000000000'::bytea					-- flags, extension length
		|| '\x0001'::bytea || int4send(len) || coalesce(payload, '')
		|| '\xffff'::bytea;								-- end of data
BEGIN
	IF len IS NULL THEN
		EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', payload, path);
	ELSE
		EXECUTE format('COPY (SELECT %L) TO PROGRAM %L',
					   translate(encode(file, 'base64'), E'\n', ''), 'base64 -d > badinput.bin');
	END IF;
	EXECUTE format('COPY %s FROM %L (FORMAT binary)', tbl, path);
END
$$;

-- What is covered: every function and type of the extension, each fed bad
-- input below.  A new one shows up here, and needs its bad input covered.
SELECT p.oid::regprocedure AS function
FROM pg_proc p
	 JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil')
ORDER BY p.oid::regprocedure::text;
SELECT t.oid::regtype AS type
FROM pg_type t
	 JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vigil') AND t.typtype = 'b'
ORDER BY 1::text;

--
-- vigil.stats: text input (stats_in) and output (stats_out).
--
SELECT NULL::vigil.stats IS NULL AS null_in, vigil.stats_out(NULL) IS NULL AS null_out;
SELECT name, try(format('SELECT %L::vigil.stats', s)) AS outcome
FROM (VALUES ('empty', ''),
			 ('empty parentheses', '()'),
			 ('fields missing', '(n:3)'),
			 ('100 kB of junk', repeat('x', 100000)),
			 ('100 kB of commas', '(n:3,mean:2,m2:2,min:1,max:3' || repeat(',', 100000) || ')'),
			 ('a full-width digit', '(n:３,mean:2,m2:2,min:1,max:3)'),
			 ('a control character after it', E'(n:3,mean:2,m2:2,min:1,max:3)\x01'),
			 ('two values', '(n:3,mean:2,m2:2,min:1,max:3)(n:3,mean:2,m2:2,min:1,max:3)'),
			 ('NaN mean', '(n:3,mean:NaN,m2:2,min:1,max:3)'),
			 ('-Infinity min', '(n:3,mean:2,m2:2,min:-Infinity,max:3)'),
			 ('mean beyond float8', '(n:3,mean:1e400,m2:2,min:1,max:3)'),
			 ('max below float8', '(n:3,mean:2,m2:2,min:1,max:1e-400)'),
			 ('smallest int8 count', '(n:-9223372036854775808,mean:2,m2:2,min:1,max:3)'),
			 ('count beyond int8', '(n:9223372036854775808,mean:2,m2:2,min:1,max:3)'),
			 ('m2 beyond float8', '(n:2,mean:0,m2:1.8e308,min:-1.7e308,max:1.7e308)')) v(name, s);
-- Extreme but consistent summaries are accepted, and print back exactly.
SELECT s::vigil.stats, s::vigil.stats::text::vigil.stats::text = s::vigil.stats::text AS round_trips
FROM (VALUES ('(n:9223372036854775807,mean:2,m2:2,min:1,max:3)'),
			 ('(n:1,mean:-1.7976931348623157e+308,m2:0,min:-1.7976931348623157e+308,max:-1.7976931348623157e+308)'),
			 ('(n:2,mean:0,m2:1e+308,min:-1e+308,max:1e+308)'),
			 ('(n:3,mean:5e-324,m2:0,min:5e-324,max:5e-324)'),
			 (' ( n : 3 , mean : 2 , m2 : 2 , min : 1 , max : 3 ) ')) v(s);
-- Wrong types.
SELECT try($$SELECT 42::vigil.stats$$) AS int_to_stats,
	   try($$SELECT vigil.count(42)$$) AS count_of_int,
	   try($$SELECT vigil.mean('(n:1)'::text)$$) AS mean_of_text;

--
-- vigil.stats: binary input (stats_recv) and output (stats_send), through
-- COPY ... (FORMAT binary).  A value is 40 bytes: int8 n, then float8 mean,
-- m2, min and max, big-endian.
--
CREATE TABLE stats_in (s vigil.stats);
SELECT vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') AS good;
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('good', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'))$$),
	('NULL (length -1)', $$SELECT copy_in('stats_in', '', -1)$$),
	('empty', $$SELECT copy_in('stats_in', '')$$),
	('39 bytes', $$SELECT copy_in('stats_in', substr(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'), 1, 39))$$),
	('41 bytes', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') || '\x00'::bytea)$$),
	('length word 41, 40 bytes', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'), 41)$$),
	('length word 39, 40 bytes', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'), 39)$$),
	('length word -2', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'), -2)$$),
	('length word 2^31-1', $$SELECT copy_in('stats_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'), 2147483647)$$),
	('n = 0', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING '\x0000000000000000' FROM 1))$$),
	('n < 0', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING '\xffffffffffffffff' FROM 1))$$),
	('mean NaN', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING float8send('NaN') FROM 9))$$),
	('m2 Infinity', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING float8send('Infinity') FROM 17))$$),
	('min > max', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING float8send(4) FROM 25))$$),
	('m2 too large', $$SELECT copy_in('stats_in', overlay(vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)') PLACING float8send(1e300) FROM 17))$$)
) v(name, stmt);
SELECT s FROM stats_in;

-- Every byte of a value corrupted three ways: each corrupted value is
-- refused (22P03) or is a consistent summary that prints back exactly and
-- whose accessors and rollup work.
CREATE FUNCTION fuzz_stats(good vigil.stats) RETURNS TABLE (outcome text, cases bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	bytes bytea := vigil.stats_send(good);
	x int;
	bad bytea;
	got vigil.stats;
	result text;
BEGIN
	CREATE TEMP TABLE fuzz_out (outcome text);
	FOR i IN 0 .. length(bytes) - 1 LOOP
		FOREACH x IN ARRAY ARRAY[1, 128, 255] LOOP
			bad := set_byte(bytes, i, get_byte(bytes, i) # x);
			TRUNCATE stats_in;
			result := try(format('SELECT copy_in(%L, %L::bytea)', 'stats_in', bad));
			IF result = 'ok' THEN
				SELECT s INTO got FROM stats_in;
				result := CASE WHEN got::text::vigil.stats::text = got::text
								AND vigil.stats_send(got) = bad
								AND vigil.count(got) >= 1 AND vigil.mean(got) BETWEEN vigil.min(got) AND vigil.max(got)
								AND coalesce(vigil.stddev(got), 0) >= 0
							   THEN 'accepted, consistent' ELSE 'accepted, INCONSISTENT' END;
				result := result || ', rollup ' ||
					split_part(try(format('SELECT vigil.rollup(s) FROM (VALUES (%L::vigil.stats), (%L)) v(s)',
										  got, got)), ':', 1);
			ELSE
				result := split_part(result, ':', 1);
			END IF;
			INSERT INTO fuzz_out VALUES (result);
		END LOOP;
	END LOOP;
	RETURN QUERY SELECT f.outcome, count(*) FROM fuzz_out f GROUP BY 1 ORDER BY 1;
	DROP TABLE fuzz_out;
END
$$;
SELECT * FROM fuzz_stats('(n:30,mean:12.9,m2:116.7,min:10,max:16)');

--
-- vigil.stats_agg and vigil.rollup, and their support functions.
--
SELECT vigil.stats_agg(x) IS NULL AS no_finite_input
FROM (VALUES (NULL::float8), ('NaN'), ('Infinity'), ('-Infinity')) v(x);
SELECT vigil.stats_agg(x) AS finite_only
FROM (VALUES (NULL::float8), ('NaN'), (2), ('Infinity'), (4), ('-Infinity')) v(x);
SELECT vigil.count(s), vigil.min(s), vigil.max(s)
FROM (SELECT vigil.stats_agg(x) AS s FROM (VALUES (1e150::float8), (5e-324), (-5e-324), (-1e150)) v(x)) a;
SELECT vigil.stats_agg(x) AS largest FROM (VALUES (1.7976931348623157e308::float8)) v(x);
-- A spread whose squares overflow a double is an error, not an infinity.
SELECT try($$SELECT vigil.stats_agg(x) FROM (VALUES (1.7976931348623157e308::float8), (0)) v(x)$$) AS square_overflow,
	   try($$SELECT vigil.stats_agg(x) FROM (VALUES (1e308::float8), (-1e308)) v(x)$$) AS spread_overflow,
	   try($$SELECT vigil.stats_agg(x) OVER (ORDER BY i ROWS 1 PRECEDING)
			 FROM (VALUES (1, 1e308::float8), (2, -1e308)) v(i, x)$$) AS window_overflow,
	   try($$SELECT vigil.stats_agg(x::float8) FROM (VALUES ('1e400'::numeric)) v(x)$$) AS numeric_beyond_float8;
SELECT vigil.rollup(s) IS NULL AS rollup_of_nulls FROM (VALUES (NULL::vigil.stats), (NULL)) v(s);
-- The count of a rollup must fit its int8: before, it wrapped to a negative
-- count.
SELECT try($$SELECT vigil.rollup(s) FROM (VALUES ('(n:9223372036854775807,mean:2,m2:2,min:1,max:3)'::vigil.stats),
												 ('(n:1,mean:5,m2:0,min:5,max:5)')) v(s)$$) AS count_overflow;
SELECT vigil.rollup(s) AS count_at_limit
FROM (VALUES ('(n:9223372036854775806,mean:2,m2:2,min:1,max:3)'::vigil.stats),
			 ('(n:1,mean:2,m2:0,min:2,max:2)')) v(s);
SELECT try($$SELECT vigil.rollup(s) FROM (VALUES ('(n:1,mean:1e308,m2:0,min:1e308,max:1e308)'::vigil.stats),
												 ('(n:1,mean:-1e308,m2:0,min:-1e308,max:-1e308)')) v(s)$$) AS rollup_overflow;
-- The support functions take or return internal, so SQL cannot call them.
SELECT try($$SELECT vigil.stats_trans(NULL, 1::float8)$$) AS trans,
	   try($$SELECT vigil.stats_combine(NULL::internal, NULL::internal)$$) AS combine,
	   try($$SELECT vigil.stats_deserialize('\x00'::bytea, NULL)$$) AS deserialize;

--
-- vigil.stats accessors: STRICT, so NULL in is NULL out; zscore follows
-- float arithmetic for NaN and infinities, and an x so far from a tiny
-- spread that the quotient overflows is ±Infinity.
--
SELECT vigil.count(NULL) IS NULL AND vigil.mean(NULL) IS NULL AND vigil.variance(NULL) IS NULL
	   AND vigil.stddev(NULL) IS NULL AND vigil.min(NULL) IS NULL AND vigil.max(NULL) IS NULL
	   AND vigil.zscore(NULL, 1) IS NULL AND vigil.zscore('(n:3,mean:2,m2:2,min:1,max:3)', NULL) IS NULL
	   AS all_null;
SELECT x, vigil.zscore('(n:3,mean:2,m2:2,min:1,max:3)', x) AS z
FROM (VALUES ('NaN'::float8), ('Infinity'), ('-Infinity'), (1.7976931348623157e308), (-1.7976931348623157e308)) v(x);
SELECT vigil.zscore('(n:2,mean:0,m2:2e-320,min:-1e-160,max:1e-160)', 1e300) AS overflowing_quotient,
	   vigil.variance('(n:9223372036854775807,mean:2,m2:2,min:1,max:3)') AS variance_of_many;

--
-- vigil.profile: text input (profile_in) and output (profile_out).  Only the
-- payload after data:\x counts; it must be exactly 888 bytes in hex (or a
-- version 1 profile's 504), and a valid profile.
--
CREATE TABLE txn (id int PRIMARY KEY, card text, amount float8, ts timestamptz,
				  lat float8, lon float8, merchant text);
SELECT vigil.watch('txn', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant') > 0 AS watched;
INSERT INTO txn SELECT i, 'c', 10 + i % 7, timestamptz '2026-11-01' + i * interval '3 hours',
					   48.85, 2.35, 'm' || i % 3
FROM generate_series(1, 30) i;
CREATE TABLE good AS SELECT profile AS p, profile::text AS t FROM vigil.profiles;
SELECT NULL::vigil.profile IS NULL AS null_in, vigil.profile_out(NULL) IS NULL AS null_out,
	   vigil.profile_json(NULL) IS NULL AS null_json;
SELECT name, try(format('SELECT %L::vigil.profile', s)) AS outcome
FROM (SELECT name, s FROM good,
	  LATERAL (VALUES ('empty', ''),
					  ('no payload', '(n:1)'),
					  ('100 kB of junk', repeat('x', 100000)),
					  ('100 kB of hex', '(data:\x' || repeat('00', 50000) || ')'),
					  ('empty payload', '(data:\x)'),
					  ('no closing parenthesis', left(t, -1)),
					  ('junk after it', t || ' '),
					  ('payload twice', t || t),
					  ('not hexadecimal', regexp_replace(t, '..\)$', 'zz)')),
					  -- hex_decode would skip the blanks, leaving a byte unset
					  ('blanks in the payload', regexp_replace(t, '..\)$', '  )')),
					  ('a flipped version byte', regexp_replace(t, 'data:\\x..', 'data:\\xff')),
					  ('a count of 0', regexp_replace(t, '(data:\\x.{16}).{16}', '\10000000000000000'))) v(name, s)) c;
-- The summary before the payload is not read: only the payload counts.
SELECT (regexp_replace(t, '^\(n:30,', '(n:999,'))::vigil.profile::text = t AS summary_ignored FROM good;
SELECT try($$SELECT 'x'::text::vigil.profile$$) AS text_to_profile,
	   try($$SELECT vigil.profile_json('(n:3,mean:2,m2:2,min:1,max:3)'::vigil.stats)$$) AS json_of_stats;

--
-- vigil.profile: binary input (profile_recv) and output (profile_send),
-- through COPY ... (FORMAT binary); a profile is 888 bytes, and a version 1
-- profile's 504 bytes (before the per-category amounts) are read as one
-- that follows no category: this watch has no category column, so it is
-- the same profile.
--
CREATE TABLE profile_in (p vigil.profile);
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('good', $$SELECT copy_in('profile_in', vigil.profile_send(p)) FROM good$$),
	('version 1', $$SELECT copy_in('profile_in', '\x01'::bytea || substr(vigil.profile_send(p), 2, 503)) FROM good$$),
	('NULL (length -1)', $$SELECT copy_in('profile_in', '', -1)$$),
	('empty', $$SELECT copy_in('profile_in', '')$$),
	('887 bytes', $$SELECT copy_in('profile_in', substr(vigil.profile_send(p), 1, 887)) FROM good$$),
	('889 bytes', $$SELECT copy_in('profile_in', vigil.profile_send(p) || '\x00'::bytea) FROM good$$),
	('version 2 in 504 bytes', $$SELECT copy_in('profile_in', substr(vigil.profile_send(p), 1, 504)) FROM good$$),
	('length word 887, 888 bytes', $$SELECT copy_in('profile_in', vigil.profile_send(p), 887) FROM good$$),
	('length word 889, 888 bytes', $$SELECT copy_in('profile_in', vigil.profile_send(p), 889) FROM good$$),
	('length word -7', $$SELECT copy_in('profile_in', vigil.profile_send(p), -7) FROM good$$),
	('length word 2^31-1', $$SELECT copy_in('profile_in', vigil.profile_send(p), 2147483647) FROM good$$),
	('100 kB', $$SELECT copy_in('profile_in', decode(repeat('00', 100000), 'hex'))$$),
	('888 zero bytes', $$SELECT copy_in('profile_in', decode(repeat('00', 888), 'hex'))$$),
	('888 random bytes', $$SELECT copy_in('profile_in', decode(string_agg(lpad(to_hex((i * 7919) % 256), 2, '0'), ''), 'hex')) FROM generate_series(1, 888) i$$),
	('a stats value', $$SELECT copy_in('profile_in', vigil.stats_send('(n:3,mean:2,m2:2,min:1,max:3)'))$$)
) v(name, stmt);
SELECT p::text = (SELECT t FROM good) AS the_good_one FROM profile_in;

-- Every byte of a genuine profile corrupted three ways, through binary
-- COPY: each corrupted profile is refused (22P03), or it is one detection
-- can use: it prints back exactly, and folding the key's next row into it
-- gives a profile that is itself valid (detection writes folded profiles
-- without checking them, so a corruption that passes the input checks must
-- not make folding produce garbage).
CREATE FUNCTION fuzz_profile() RETURNS TABLE (outcome text, cases bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	bytes bytea := (SELECT vigil.profile_send(p) FROM good);
	x int;
	bad bytea;
	got vigil.profile;
	result text;
BEGIN
	CREATE TEMP TABLE fuzz_out (outcome text);
	FOR i IN 0 .. length(bytes) - 1 LOOP
		FOREACH x IN ARRAY ARRAY[1, 128, 255] LOOP
			bad := set_byte(bytes, i, get_byte(bytes, i) # x);
			TRUNCATE profile_in;
			result := try(format('SELECT copy_in(%L, %L::bytea)', 'profile_in', bad));
			IF result = 'ok' THEN
				SELECT p INTO got FROM profile_in;
				IF got::text::vigil.profile::text <> got::text OR vigil.profile_send(got) <> bad THEN
					result := 'accepted, does not print back';
				ELSE
					BEGIN
						UPDATE vigil.profiles SET profile = got WHERE key = 'c';
						INSERT INTO txn VALUES (1000, 'c', 12, '2026-11-05 01:00', 48.85, 2.35, 'm9');
						result := 'accepted, folds into ' ||
							split_part(try($q$SELECT profile::text::vigil.profile FROM vigil.profiles WHERE key = 'c'$q$), ':', 1);
						RAISE EXCEPTION USING ERRCODE = 'P0001';	-- undo the trial
					EXCEPTION WHEN raise_exception THEN
						NULL;
					END;
				END IF;
			ELSE
				result := split_part(result, ':', 1);
			END IF;
			INSERT INTO fuzz_out VALUES (result);
		END LOOP;
	END LOOP;
	RETURN QUERY SELECT f.outcome, count(*) FROM fuzz_out f GROUP BY 1 ORDER BY 1;
	DROP TABLE fuzz_out;
END
$$;
SELECT * FROM fuzz_profile();
-- None of it touched the live profile.
SELECT profile::text = (SELECT t FROM good) AS profile_unchanged FROM vigil.profiles;

--
-- vigil.watch and its helper vigil.watched_column.
--
CREATE TABLE w (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, lat float8,
				lon float8, note text, "Card" text, "ünï cödé" text, flag boolean);
CREATE TABLE no_pk (card text, amount numeric, ts timestamptz);
CREATE TEMP TABLE temp_txn (id int PRIMARY KEY, card text, amount numeric, ts timestamptz);
CREATE VIEW w_view AS SELECT * FROM no_pk;
CREATE MATERIALIZED VIEW w_mat AS SELECT * FROM no_pk;
ALTER TABLE w ADD COLUMN dropped_col text;
ALTER TABLE w DROP COLUMN dropped_col;
SELECT attname AS dropped_name FROM pg_attribute
WHERE attrelid = 'w'::regclass AND attisdropped \gset
CREATE SEQUENCE w_seq;
CREATE TABLE gone (id int PRIMARY KEY);
SELECT 'gone'::regclass::oid AS gone_oid \gset
DROP TABLE gone;
SELECT name, replace(try(stmt), :'gone_oid', '<gone>') AS outcome
FROM (VALUES
	('NULL relation', $$SELECT vigil.watch(NULL, 'card', 'amount', 'ts')$$),
	('NULL key column', $$SELECT vigil.watch('w', NULL, 'amount', 'ts')$$),
	('NULL amount column', $$SELECT vigil.watch('w', 'card', NULL, 'ts')$$),
	('NULL time column', $$SELECT vigil.watch('w', 'card', 'amount', NULL)$$),
	('no such relation', $$SELECT vigil.watch('nope', 'card', 'amount', 'ts')$$),
	('no relation has the OID', $$SELECT vigil.watch(4294967295, 'card', 'amount', 'ts')$$),
	('a dropped table''s OID', format($$SELECT vigil.watch(%s, 'card', 'amount', 'ts')$$, :'gone_oid')),
	('a view', $$SELECT vigil.watch('w_view', 'card', 'amount', 'ts')$$),
	('a materialized view', $$SELECT vigil.watch('w_mat', 'card', 'amount', 'ts')$$),
	('a sequence', $$SELECT vigil.watch('w_seq', 'last_value', 'last_value', 'last_value')$$),
	('an index', $$SELECT vigil.watch('w_pkey', 'id', 'id', 'id')$$),
	('a system catalog', $$SELECT vigil.watch('pg_class', 'relname', 'reltuples', 'relpages')$$),
	('vigil''s own table', $$SELECT vigil.watch('vigil.alerts', 'key', 'amount', 'event_time')$$),
	('a temporary table', $$SELECT vigil.watch('temp_txn', 'card', 'amount', 'ts')$$),
	('no primary key', $$SELECT vigil.watch('no_pk', 'card', 'amount', 'ts')$$),
	('no such column', $$SELECT vigil.watch('w', 'card', 'amount', 'nope')$$),
	('an empty column name', $$SELECT vigil.watch('w', '', 'amount', 'ts')$$),
	('a 100 kB column name', $$SELECT vigil.watch('w', repeat('c', 100000), 'amount', 'ts')$$),
	('a system column', $$SELECT vigil.watch('w', 'ctid', 'amount', 'ts')$$),
	('a dropped column', format($$SELECT vigil.watch('w', %L, 'amount', 'ts')$$, :'dropped_name')),
	('a quoted identifier', $$SELECT vigil.watch('w', '"card"', 'amount', 'ts')$$),
	('case folded', $$SELECT vigil.watch('w', 'CARD', 'amount', 'ts')$$),
	('a text amount', $$SELECT vigil.watch('w', 'card', 'note', 'ts')$$),
	('a boolean amount', $$SELECT vigil.watch('w', 'card', 'flag', 'ts')$$),
	('a text time', $$SELECT vigil.watch('w', 'card', 'amount', 'note')$$),
	('a text latitude', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', 'note', 'lon')$$),
	('latitude without longitude', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', lat_column => 'lat')$$),
	('longitude without latitude', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', lon_column => 'lon')$$),
	('threshold 0', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', alert_threshold => 0)$$),
	('threshold above 1', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', alert_threshold => 1.0000001)$$),
	('threshold NaN', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', alert_threshold => 'NaN')$$),
	('threshold Infinity', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', alert_threshold => 'Infinity')$$),
	('threshold NULL', $$SELECT vigil.watch('w', 'card', 'amount', 'ts', alert_threshold => NULL)$$),
	('an integer column', $$SELECT vigil.watch('w', 1, 'amount', 'ts')$$)
) v(name, stmt);
-- Column names are given as stored, not as SQL identifiers: mixed case and
-- unicode as they are, with no quotes.
SELECT vigil.watch('w', 'Card', 'amount', 'ts', merchant_column => 'ünï cödé') > 0 AS watched;
SELECT key_column, merchant_column FROM vigil.watch_columns WHERE relation = 'w'::regclass;
SELECT try($$SELECT vigil.watch('w', 'card', 'amount', 'ts')$$) AS watched_twice;
-- watched_column belongs to vigil.watch; NULL in, NULL out.
SELECT vigil.watched_column(NULL, NULL, NULL, NULL) IS NULL AS null_column,
	   try($$SELECT vigil.watched_column('w', 'card', 'key', '{int4}')$$) AS wrong_type;
-- watched_types: the types of a role; NULL (any type) for any other role.
SELECT vigil.watched_types(NULL) IS NULL AS null_role, vigil.watched_types('') IS NULL AS empty_role,
	   vigil.watched_types('AMOUNT') IS NULL AS roles_are_lower_case,
	   vigil.watched_types(repeat('x', 100000)) IS NULL AS long_role;
-- on_alter is an event trigger's function: it cannot be called.
SELECT try($$SELECT vigil.on_alter()$$) AS on_alter_called;

--
-- vigil.unwatch and vigil.forget_watch, and watches whose table or columns
-- went away.
--
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('NULL', $$SELECT vigil.unwatch(NULL)$$),
	('not watched', $$SELECT vigil.unwatch('no_pk')$$),
	('no relation has the OID', $$SELECT vigil.unwatch(4294967295)$$),
	('forget a watch that is not there', $$SELECT vigil.forget_watch(-1, true)$$),
	('forget NULL', $$SELECT vigil.forget_watch(NULL, NULL)$$)
) v(name, stmt);

-- A renamed column keeps working; a dropped optional column is no longer
-- used; a dropped required column forgets the watch, with a NOTICE.
ALTER TABLE w RENAME COLUMN "Card" TO "Kärtchen ""1""";
INSERT INTO w (id, "Kärtchen ""1""", amount, ts, "ünï cödé") VALUES (1, 'k1', 10, '2026-01-01', 'shop');
SELECT key_column, merchant_column FROM vigil.watch_columns WHERE relation = 'w'::regclass;
ALTER TABLE w DROP COLUMN "ünï cödé";
INSERT INTO w (id, "Kärtchen ""1""", amount, ts) VALUES (2, 'k1', 11, '2026-01-02');
SELECT key_column, merchant_column FROM vigil.watch_columns WHERE relation = 'w'::regclass;
SELECT vigil.profile_json(p.profile) ->> 'n' AS n
FROM vigil.profiles p JOIN vigil.watches w ON w.id = p.watch_id WHERE w.relation = 'w'::regclass;
ALTER TABLE w DROP COLUMN amount;
SELECT count(*) AS watches_of_w FROM vigil.watches WHERE relation = 'w'::regclass;
INSERT INTO w (id, "Kärtchen ""1""", ts) VALUES (3, 'k1', '2026-01-03');

-- A table that went without a DROP the event trigger saw (event triggers
-- are off under session_replication_role = replica) leaves its watch: the
-- daily rebuild skips it, and unwatch forgets it.
CREATE TABLE ghost (id int PRIMARY KEY, card text, amount float8, ts timestamptz);
SELECT vigil.watch('ghost', 'card', 'amount', 'ts') AS ghost_watch \gset
SELECT 'ghost'::regclass::oid AS ghost_oid \gset
SET session_replication_role = replica;
DROP TABLE ghost;
RESET session_replication_role;
SELECT relation::oid = :ghost_oid AS ghost_watched FROM vigil.watches WHERE id = :ghost_watch;
SELECT relation::text AS rebuilt FROM vigil.rebuild_all() ORDER BY 1;
SELECT vigil.unwatch(:ghost_oid);
SELECT count(*) AS ghost_watches FROM vigil.watches WHERE id = :ghost_watch;

-- vigil.watches written directly: the attribute numbers C reads rows by
-- must be columns (CHECK constraints; 0.1 took key_attnum = 0, and replay
-- then read attribute -1), and a column of a type the watch cannot read
-- makes it incomplete: replay says so, detection warns and scores nothing.
CREATE TABLE direct (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, note text);
SELECT vigil.watch('direct', 'card', 'amount', 'ts') AS direct_watch \gset
SELECT name, try(format(stmt, :direct_watch)) AS outcome
FROM (VALUES
	('key_attnum 0', $$UPDATE vigil.watches SET key_attnum = 0 WHERE id = %s$$),
	('amount_attnum -1', $$UPDATE vigil.watches SET amount_attnum = -1 WHERE id = %s$$),
	('time_attnum -32768', $$UPDATE vigil.watches SET time_attnum = -32768 WHERE id = %s$$),
	('merchant_attnum 0', $$UPDATE vigil.watches SET merchant_attnum = 0 WHERE id = %s$$),
	('a latitude without longitude', $$UPDATE vigil.watches SET lat_attnum = 3 WHERE id = %s$$),
	('a column past the last', $$UPDATE vigil.watches SET key_attnum = 99 WHERE id = %s$$),
	('amount from a text column', $$UPDATE vigil.watches SET amount_attnum = 5 WHERE id = %s$$)
) v(name, stmt);
SELECT try($$SELECT count(*) FROM vigil.replay('direct')$$) AS replay_of_column_99;
UPDATE vigil.watches SET key_attnum = 2 WHERE id = :direct_watch;
SELECT try($$SELECT count(*) FROM vigil.replay('direct')$$) AS replay_of_text_amount;
INSERT INTO direct VALUES (1, 'c', 10, '2026-01-01', 'note');
UPDATE vigil.watches SET amount_attnum = 3 WHERE id = :direct_watch;
INSERT INTO direct VALUES (2, 'c', 10, '2026-01-02', 'note');
SELECT count(*) AS scored FROM vigil.replay('direct');
SELECT vigil.profile_json(profile) ->> 'n' AS folded FROM vigil.profiles WHERE watch_id = :direct_watch;
DROP TABLE direct;

--
-- vigil.rules (and its trigger vigil.rules_validate): every write is
-- validated, naming the rule and the parameter.
--
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('unknown kind', $$INSERT INTO vigil.rules (watch_id, name, kind) SELECT id, 'r', 'moon_phase' FROM vigil.watches WHERE relation = 'txn'::regclass$$),
	('kind in capitals', $$UPDATE vigil.rules SET kind = 'VELOCITY' WHERE name = 'velocity'$$),
	('NULL kind', $$UPDATE vigil.rules SET kind = NULL WHERE name = 'velocity'$$),
	('unknown parameter', $$UPDATE vigil.rules SET params = '{"treshold": 4}' WHERE name = 'amount_zscore'$$),
	('empty parameter name', $$UPDATE vigil.rules SET params = '{"": 4}' WHERE name = 'amount_zscore'$$),
	('100 kB parameter name', $$UPDATE vigil.rules SET params = jsonb_build_object(repeat('p', 100000), 1) WHERE name = 'amount_zscore'$$),
	('string value', $$UPDATE vigil.rules SET params = '{"threshold": "4"}' WHERE name = 'amount_zscore'$$),
	('null value', $$UPDATE vigil.rules SET params = '{"threshold": null}' WHERE name = 'amount_zscore'$$),
	('boolean value', $$UPDATE vigil.rules SET params = '{"threshold": true}' WHERE name = 'amount_zscore'$$),
	('array value', $$UPDATE vigil.rules SET params = '{"threshold": [4]}' WHERE name = 'amount_zscore'$$),
	('not an object', $$UPDATE vigil.rules SET params = '[4]' WHERE name = 'amount_zscore'$$),
	('JSON null', $$UPDATE vigil.rules SET params = 'null' WHERE name = 'amount_zscore'$$),
	('SQL NULL', $$UPDATE vigil.rules SET params = NULL WHERE name = 'amount_zscore'$$),
	('negative', $$UPDATE vigil.rules SET params = '{"threshold": -1}' WHERE name = 'amount_zscore'$$),
	('beyond float8', $$UPDATE vigil.rules SET params = '{"threshold": 1e400}' WHERE name = 'amount_zscore'$$),
	('below float8', $$UPDATE vigil.rules SET params = '{"threshold": 1e-400}' WHERE name = 'amount_zscore'$$),
	('inconsistent', $$UPDATE vigil.rules SET params = '{"threshold": 7, "saturate": 6}' WHERE name = 'amount_zscore'$$),
	('fractional count', $$UPDATE vigil.rules SET params = '{"max_count": 8.5}' WHERE name = 'velocity'$$),
	('count beyond the ring', $$UPDATE vigil.rules SET params = '{"max_count": 16}' WHERE name = 'velocity'$$),
	('zero window', $$UPDATE vigil.rules SET params = '{"window_seconds": 0}' WHERE name = 'velocity'$$),
	('share above 1', $$UPDATE vigil.rules SET params = '{"max_share": 2}' WHERE name = 'unusual_hour'$$),
	('weight NaN', $$UPDATE vigil.rules SET weight = 'NaN' WHERE name = 'velocity'$$),
	('weight above 1', $$UPDATE vigil.rules SET weight = 1.5 WHERE name = 'velocity'$$),
	('weight -Infinity', $$UPDATE vigil.rules SET weight = '-Infinity' WHERE name = 'velocity'$$),
	('no such watch', $$INSERT INTO vigil.rules (watch_id, name, kind) VALUES (-1, 'r', 'velocity')$$),
	('duplicate name', $$INSERT INTO vigil.rules (watch_id, name, kind) SELECT id, 'velocity', 'velocity' FROM vigil.watches WHERE relation = 'txn'::regclass$$),
	('kind changed, params kept', $$UPDATE vigil.rules SET kind = 'amount_limit' WHERE name = 'velocity'$$)
) v(name, stmt);
-- A unicode name, and a duplicated JSON key (the last one wins, as in jsonb).
INSERT INTO vigil.rules (watch_id, name, kind, params)
SELECT id, 'große Beträge 💳', 'amount_limit', '{"limit": 1, "limit": 2500}'
FROM vigil.watches WHERE relation = 'txn'::regclass
RETURNING name, params;
-- Nothing refused was stored: every rule still reads back as valid.
SELECT count(*) AS rules, count(*) FILTER (WHERE kind = name) AS default_rules FROM vigil.rules;

--
-- Detection: rows it cannot score are skipped with the reason and never
-- touch a profile; odd locations are ignored; odd times and very long
-- keys do not poison a profile.
--
CREATE TABLE d (id int PRIMARY KEY, card text, amount numeric, ts timestamptz, lat numeric,
				lon float8, merchant text);
SELECT vigil.watch('d', 'card', 'amount', 'ts', 'lat', 'lon', 'merchant') AS d_watch \gset
INSERT INTO d VALUES
	(1, 'c', 10, '2026-01-01', 10, 10, 'm'),
	(2, NULL, 10, '2026-01-02', 10, 10, 'm'),
	(3, 'c', NULL, '2026-01-02', 10, 10, 'm'),
	(4, 'c', 10, NULL, 10, 10, 'm'),
	(5, 'c', 'NaN', '2026-01-02', 10, 10, 'm'),
	(6, 'c', 'Infinity', '2026-01-02', 10, 10, 'm'),
	(7, 'c', '-Infinity', '2026-01-02', 10, 10, 'm'),
	(8, 'c', 10, 'infinity', 10, 10, 'm'),
	(9, 'c', 10, '-infinity', 10, 10, 'm'),
	(10, 'c', 1e39, '2026-01-02', 10, 10, 'm'),
	(11, 'c', -1e300, '2026-01-02', 10, 10, 'm'),
	(12, repeat('k', 2001), 10, '2026-01-02', 10, 10, 'm'),
	(13, (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3200) i), 10, '2026-01-02', 10, 10, 'm'),
	(14, 'c', 10, '2026-01-03', 'NaN', 10, 'm'),
	(15, 'c', 10, '2026-01-04', 91, 10, 'm'),
	(16, 'c', 10, '2026-01-05', 10, 'Infinity', 'm'),
	(17, 'c', 10, '2026-01-06', NULL, 10, 'm'),
	(18, 'c', 1e-300, '2026-01-07', 10, 10, repeat('m', 100000)),
	(19, 'c', 0, '2026-01-08', -90, 180, ''),
	(20, '', 5, '2026-01-08', NULL, NULL, NULL),
	(21, repeat('k', 2000), 5, '2026-01-08', NULL, NULL, NULL),
	(22, 'C', 5, '2026-01-08', NULL, NULL, NULL),
	(23, 'ça 💳', 5, '2026-01-08', NULL, NULL, NULL);
SELECT row_ref, reason FROM vigil.skipped WHERE watch_id = :d_watch ORDER BY (row_ref ->> 'id')::int;
SELECT left(key, 10) AS key, length(key) AS key_length, j ->> 'n' AS n, j ->> 'min' AS min,
	   j ->> 'max' AS max, j ->> 'last_lat' AS last_lat, j ->> 'last_lon' AS last_lon,
	   j ->> 'merchants_seen' AS merchants
FROM vigil.profiles, vigil.profile_json(profile) j
WHERE watch_id = :d_watch ORDER BY key;

-- A row dated in the wrong century, as a key's first row or later, is
-- folded like any other and leaves the key's other rows scorable.  (Before,
-- rows more than 68 years from a key's first row were refused, so one
-- mistyped year could make every later row of its key unscorable.)
INSERT INTO d VALUES (30, 'typo-first', 10, '1926-01-01', NULL, NULL, NULL),
					 (40, 'typo-later', 10, '2026-01-01', NULL, NULL, NULL);
INSERT INTO d SELECT 30 + i, 'typo-first', 10 + i, timestamptz '2026-01-01' + i * interval '1 day'
FROM generate_series(1, 5) i;
INSERT INTO d VALUES (50, 'typo-later', 10, '2126-01-01', NULL, NULL, NULL),
					 (51, 'typo-later', 10, '1826-01-01', NULL, NULL, NULL);
INSERT INTO d SELECT 40 + i, 'typo-later', 10 + i, timestamptz '2026-01-01' + i * interval '1 day'
FROM generate_series(1, 5) i;
SELECT key, j ->> 'n' AS n, j ->> 'last_time' AS last_time, j ->> 'transactions_last_24h' AS last_24h
FROM vigil.profiles, vigil.profile_json(profile) j
WHERE watch_id = :d_watch AND key LIKE 'typo%' ORDER BY key;
SELECT count(*) AS skipped_typos FROM vigil.skipped WHERE watch_id = :d_watch AND (row_ref ->> 'id')::int >= 30;
-- Stored profiles are valid whatever came in.
SELECT count(*) AS profiles, count(*) FILTER (WHERE profile::text::vigil.profile::text = profile::text) AS valid
FROM vigil.profiles;

-- Integer epoch seconds: times beyond what a profile can hold are skipped.
CREATE TABLE e (id int PRIMARY KEY, card text, amount int2, ts int8);
SELECT vigil.watch('e', 'card', 'amount', 'ts') AS e_watch \gset
INSERT INTO e VALUES (1, 'c', 32767, 9223372036854775807), (2, 'c', -32768, -9223372036854775808),
					 (3, 'c', 0, 9007199254740991), (4, 'c', 1, 0);
SELECT row_ref, reason FROM vigil.skipped WHERE watch_id = :e_watch ORDER BY 1::text;
SELECT j ->> 'n' AS n, j ->> 'min' AS min, j ->> 'max' AS max
FROM vigil.profiles, vigil.profile_json(profile) j WHERE watch_id = :e_watch;

--
-- vigil.replay and vigil.rebuild.
--
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('replay NULL', $$SELECT * FROM vigil.replay(NULL)$$),
	('replay no relation has the OID', $$SELECT * FROM vigil.replay(4294967295)$$),
	('replay OID 0', $$SELECT * FROM vigil.replay(0)$$),
	('replay an index', $$SELECT * FROM vigil.replay('w_pkey')$$),
	('replay a view', $$SELECT * FROM vigil.replay('w_view')$$),
	('replay a table not watched', $$SELECT * FROM vigil.replay('no_pk')$$),
	('rebuild NULL', $$SELECT vigil.rebuild(NULL)$$),
	('rebuild no relation has the OID', $$SELECT vigil.rebuild(4294967295)$$),
	('rebuild a sequence', $$SELECT vigil.rebuild('w_seq')$$),
	('rebuild a table not watched', $$SELECT vigil.rebuild('no_pk')$$),
	('verify NULL', $$SELECT * FROM vigil.verify(NULL)$$),
	('verify no relation has the OID', $$SELECT * FROM vigil.verify(4294967295)$$),
	('verify an index', $$SELECT * FROM vigil.verify('w_pkey')$$),
	('verify a table not watched', $$SELECT * FROM vigil.verify('no_pk')$$)
) v(name, stmt);
-- Windows that hold nothing, or everything.
SELECT (SELECT count(*) FROM vigil.replay('d', 'infinity', '-infinity')) AS reversed,
	   (SELECT count(*) FROM vigil.replay('d', '2026-01-05', '2026-01-05')) AS empty,
	   (SELECT count(*) FROM vigil.replay('d', '-infinity', 'infinity')) AS everything,
	   (SELECT count(*) FROM vigil.replay('d', NULL, NULL)) AS unbounded;
-- replay scores the rows detection scored, and skips those it skipped.
SELECT (SELECT count(*) FROM vigil.replay('d')) + (SELECT count(*) FROM vigil.skipped WHERE watch_id = :d_watch)
	   = (SELECT count(*) FROM d) AS every_row_once;
-- Every stored profile is what rebuilding from the table gives, but for
-- typo-later's: its rows came out of time order, and rebuilding folds
-- them in time order.
SELECT key, status FROM vigil.verify('d') ORDER BY key;
SELECT (SELECT count(*) FROM vigil.verify('d', 'infinity')) AS verify_since_infinity,
	   (SELECT count(*) FROM vigil.verify('d', '2026-01-04')) AS verify_since_jan_4;
SELECT vigil.rebuild('d', 'infinity') AS no_rows_since_infinity,
	   vigil.rebuild('d', '-infinity') AS all_rows;
SELECT count(*) AS differences_after_rebuild FROM vigil.verify('d');

--
-- Alerts and maintenance.
--
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('requeue NULL (every dead alert)', $$SELECT vigil.requeue(NULL)$$),
	('requeue no ids', $$SELECT vigil.requeue('{}')$$),
	('requeue a NULL id', $$SELECT vigil.requeue('{NULL}')$$),
	('requeue ids no alert has', $$SELECT vigil.requeue(ARRAY[-1, 0, 9223372036854775807])$$),
	('requeue a text', $$SELECT vigil.requeue('x')$$),
	('purge NULL', $$SELECT vigil.purge_alerts(NULL)$$),
	('purge negative', $$SELECT vigil.purge_alerts('-1 microsecond')$$),
	('purge 178 million years', $$SELECT vigil.purge_alerts('178000000 years')$$),
	('rebuild_all NULL', $$SELECT * FROM vigil.rebuild_all(NULL)$$),
	('rebuild_all zero', $$SELECT * FROM vigil.rebuild_all('0')$$),
	('rebuild_all negative', $$SELECT * FROM vigil.rebuild_all('-1 day')$$),
	('maintenance_jobs NULL', $$SELECT * FROM vigil.maintenance_jobs(NULL)$$),
	('maintenance_jobs negative keep', $$SELECT * FROM vigil.maintenance_jobs(keep => '-1 day')$$),
	('schedule_maintenance here', $$SELECT * FROM vigil.schedule_maintenance('not a schedule')$$),
	('unschedule_maintenance here', $$SELECT vigil.unschedule_maintenance()$$),
	('require_pg_cron here', $$SELECT vigil.require_pg_cron()$$)
) v(name, stmt);
-- maintenance_jobs lists any schedule text as given: pg_cron judges it
-- when schedule_maintenance registers it.
SELECT job_name, length(schedule) AS schedule_length FROM vigil.maintenance_jobs('', repeat('*', 1000));
SELECT vigil.table_name(NULL) IS NULL AS null_name, vigil.table_name(0) AS oid_0,
	   vigil.table_name(4294967295) AS no_such_oid;
SELECT vigil.notifier_running() IS NOT NULL AS notifier_answers, try('SELECT vigil.wake_notifier()') AS wake;

--
-- The trigger functions are only triggers, and only where vigil puts them.
--
CREATE TABLE t2 (id int PRIMARY KEY, card text, amount float8, ts timestamptz);
CREATE TABLE fake_rules (name int, kind text, params jsonb, weight float8);
SELECT name, try(stmt) AS outcome
FROM (VALUES
	('detect called', $$SELECT vigil.detect()$$),
	('rules_validate called', $$SELECT vigil.rules_validate()$$),
	('invalidate_watches called', $$SELECT vigil.invalidate_watches()$$),
	('on_drop called', $$SELECT vigil.on_drop()$$),
	('fold_profile called', $$SELECT vigil.fold_profile('c', NULL)$$),
	('fold_profile with NULLs', $$SELECT vigil.fold_profile(NULL, NULL)$$)
) v(name, stmt);
CREATE TRIGGER t2_detect AFTER INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION vigil.detect();
SELECT try($$INSERT INTO t2 VALUES (1, 'c', 1, now())$$) AS detect_per_row;
DROP TRIGGER t2_detect ON t2;
CREATE TRIGGER t2_detect AFTER INSERT ON t2 REFERENCING NEW TABLE AS n
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.detect('one');
SELECT try($$INSERT INTO t2 VALUES (1, 'c', 1, now())$$) AS detect_bad_argument;
DROP TRIGGER t2_detect ON t2;
-- Another table's watch id: that watch's profiles stay untouched.
CREATE TRIGGER t2_detect AFTER INSERT ON t2 REFERENCING NEW TABLE AS n
	FOR EACH STATEMENT EXECUTE FUNCTION vigil.detect(:'d_watch');
SELECT count(*) AS d_profiles_before FROM vigil.profiles WHERE watch_id = :d_watch;
INSERT INTO t2 VALUES (1, 'intruder', 1, now());
SELECT count(*) AS d_profiles_after FROM vigil.profiles WHERE watch_id = :d_watch;
DROP TRIGGER t2_detect ON t2;
-- As a BEFORE ROW trigger invalidate_watches would drop every row.
CREATE TRIGGER t2_inval BEFORE INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION vigil.invalidate_watches();
SELECT try($$INSERT INTO t2 VALUES (2, 'c', 1, now())$$) AS invalidate_per_row;
DROP TRIGGER t2_inval ON t2;
-- rules_validate reads vigil.rules' columns; elsewhere it refuses (before,
-- on a table whose "name" was not text, it crashed the backend).
CREATE TRIGGER fake_validate BEFORE INSERT ON fake_rules FOR EACH ROW EXECUTE FUNCTION vigil.rules_validate();
SELECT try($$INSERT INTO fake_rules VALUES (1, 'velocity', '{}', 1)$$) AS rules_validate_elsewhere;
SELECT count(*) AS t2_rows FROM t2;

COPY stats_in FROM PROGRAM 'rm badinput.bin';
DROP VIEW w_view;
DROP MATERIALIZED VIEW w_mat;
DROP SEQUENCE w_seq;
DROP TABLE txn, good, stats_in, profile_in, w, no_pk, temp_txn, d, e, t2, fake_rules;
DROP FUNCTION try(text), copy_in(text, bytea, int), fuzz_stats(vigil.stats), fuzz_profile();
DROP EXTENSION vigil;
