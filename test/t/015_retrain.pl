# Nightly retraining with a real pg_cron: vigil.schedule_maintenance
# registers a retrain job for the watch with labels (its chargeback column
# and analysts' verdicts), which really runs (here every minute): the first
# model, trained on both sources with the rows younger than the label
# maturity left out unless an analyst labelled them, is activated and the
# threshold calibrated to the watch's alert budget; once the chargeback feed
# turns bad, the next run's model ranks the same held-out rows worse and is
# kept out, the active model and threshold unchanged.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('retrain');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'vigil,pg_cron'\n"
	  . "cron.database_name = 'postgres'\n"
	  . "cron.host = '" . $node->host . "'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vigil; CREATE EXTENSION pg_cron');

# 100 cards over the last 60 days (dates relative to now(), at least six
# hours from the 30-day maturity); fraud is several times the card's level,
# in electronics.  The chargeback column cb is known on rows older than 30
# days (one in 40 unknown) and still false on younger ones.  Analysts
# labelled the young rows of 30 cards that alerted (every fraud, one
# legitimate row in 7) and the old rows whose chargeback is unknown.
$node->safe_psql(
	'postgres', q{
CREATE TABLE tx (id int PRIMARY KEY, card int NOT NULL, amount numeric(12, 2) NOT NULL,
				 ts timestamptz NOT NULL, category text NOT NULL, fraud boolean NOT NULL, cb boolean);
INSERT INTO tx
SELECT i, c, CASE WHEN f THEN (10 + c % 7) * (6 + i % 5) ELSE (10 + c % 7) * (1 + (i * 7919 % 13) / 10.0) END,
	   now() - (i % 60) * interval '1 day' - interval '6 hours' - (i % 97) * interval '1 minute',
	   CASE WHEN f THEN 'electronics' ELSE (ARRAY['grocery', 'fuel', 'dining', 'pharmacy'])[1 + i * 31 % 4] END,
	   f, CASE WHEN i % 60 < 30 THEN false WHEN i % 40 = 0 THEN NULL ELSE f END
FROM (SELECT i, i % 100 AS c, i * 2654435761 % 97 < 3 AS f FROM generate_series(1, 12000) i) g;
SELECT vigil.watch('tx', 'card', 'amount', 'ts', category_column => 'category');
UPDATE vigil.rules SET enabled = false;
SELECT vigil.set_label('tx', 'cb');
UPDATE vigil.watches SET alert_budget = 0.02;
INSERT INTO vigil.alerts (watch_id, relation, row_ref, key, amount, event_time, score, fired,
						  explanation, status)
SELECT 1, 'tx', jsonb_build_object('id', id), card::text, amount, ts, 0.9, '{}', '[]', 'recorded'
FROM tx
WHERE (ts > now() - interval '30 days' AND card < 30 AND (fraud OR id % 7 = 0))
   OR (ts <= now() - interval '30 days' AND cb IS NULL);
SELECT count(vigil.label(a.id, tx.fraud)) FROM vigil.alerts a JOIN tx ON tx.id = (a.row_ref ->> 'id')::int;
});

# The job: one for the watch, by its id, on the schedule asked for.
$node->safe_psql('postgres',
	"SELECT vigil.schedule_maintenance(retrain_schedule => '* * * * *')");
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(jobname || ' ' || schedule, ', ' ORDER BY jobname) FROM cron.job}),
	'vigil-purge-postgres 30 5 * * *, vigil-rebuild-postgres 0 6 * * *, vigil-retrain-1-postgres * * * * *',
	'schedule_maintenance registers a retrain job for the watch with labels');

# Wait until a retrain run has made a model (or a run failed).
my $failed = q{
	SELECT string_agg(d.return_message, '; ') FROM cron.job_run_details d
	JOIN cron.job j USING (jobid) WHERE j.jobname LIKE 'vigil-retrain-%' AND d.status = 'failed'};
sub wait_for_model
{
	my ($cond) = @_;
	my $t0 = time();
	while (time() - $t0 < 150)
	{
		my $n = $node->safe_psql('postgres', "SELECT count(*) FROM vigil.models WHERE $cond");
		return 1 if $n > 0;
		last if $node->safe_psql('postgres', $failed) ne '';
		usleep(500_000);
	}
	diag('failed runs: ' . $node->safe_psql('postgres', $failed));
	return 0;
}

ok(wait_for_model('true'), 'the retrain job ran and made a model (within 150 s)');
my $first = $node->safe_psql('postgres', 'SELECT min(id) FROM vigil.models');
is( $node->safe_psql(
		'postgres', qq{SELECT state || ' ' || decision || ' ' || (decision_detail ->> 'compared_with')
					   FROM vigil.models WHERE id = $first}),
	'active activated rules',
	'the first model is activated: no model before, and it ranks better than the rules');
is( $node->safe_psql(
		'postgres', qq{
	SELECT m.label_column = 'cb'
		   AND (m.validation ->> 'verdict_labels')::int =
			   (SELECT count(*) FROM vigil.verdicts v JOIN tx ON tx.id = (v.row_ref ->> 'id')::int
				WHERE tx.cb IS NULL OR tx.ts > now() - interval '30 days')
		   AND (m.validation ->> 'verdict_labels')::int > 0
	FROM vigil.models m WHERE m.id = $first}),
	't', 'it learned from the chargeback column and from every verdict the column does not override');
is( $node->safe_psql(
		'postgres', qq{
	SELECT (m.validation ->> 'immature_rows')::int =
			   (SELECT count(*) FROM tx WHERE ts > now() - interval '30 days'
				AND NOT EXISTS (SELECT FROM vigil.verdicts v WHERE (v.row_ref ->> 'id')::int = tx.id))
		   AND m.train_rows + (m.validation ->> 'rows')::int =
			   (SELECT count(*) FROM tx WHERE cb IS NOT NULL AND ts <= now() - interval '30 days')
			   + (SELECT count(*) FROM vigil.verdicts v JOIN tx ON tx.id = (v.row_ref ->> 'id')::int
				  WHERE tx.cb IS NULL OR tx.ts > now() - interval '30 days')
	FROM vigil.models m WHERE m.id = $first}),
	't', 'the young rows without a verdict were left out, not taken as legitimate');
is( $node->safe_psql(
		'postgres', qq{
	SELECT w.alert_threshold <> 0.5 AND w.alert_threshold = (m.decision_detail ->> 'alert_threshold')::float8
	FROM vigil.models m, vigil.watches w WHERE m.id = $first}),
	't', 'the threshold was calibrated to the alert budget');

# The labels go bad: every known chargeback flipped, and the verdicts on
# the rows older than 12 days (those trained on: the held-out rows are the
# latest fifth of the time, the analysts' verdicts of the last 12 days).
# A model made from them ranks the held-out rows worse than the active one
# does, and is kept out.  Runs that began before the update trained on the
# good labels (and tie with the active model): wait for a model made after
# it.
my $active = $node->safe_psql('postgres', q{SELECT id FROM vigil.models WHERE state = 'active'});
my $threshold = $node->safe_psql('postgres', 'SELECT alert_threshold FROM vigil.watches');
my $bad_at = $node->safe_psql('postgres',
	q{BEGIN;
	  UPDATE tx SET cb = NOT cb WHERE cb IS NOT NULL AND ts <= now() - interval '30 days';
	  UPDATE vigil.verdicts v SET fraud = NOT v.fraud FROM tx
	  WHERE tx.id = (v.row_ref ->> 'id')::int AND tx.ts <= now() - interval '12 days';
	  SELECT now();
	  COMMIT;});
ok(wait_for_model("created_at > '$bad_at'"), 'the job ran again on the bad labels');
my $bad = $node->safe_psql('postgres', "SELECT min(id) FROM vigil.models WHERE created_at > '$bad_at'");
is( $node->safe_psql(
		'postgres', qq{SELECT state || ' ' || decision || ' ' || (decision_detail ->> 'compared_with')
					   || ' ' || (decision_detail ->> 'previous_model')
					   FROM vigil.models WHERE id = $bad}),
	"inactive kept model $active",
	'the model from bad labels is kept out, compared with the active one');
is( $node->safe_psql(
		'postgres', qq{SELECT (decision_detail ->> 'pr_auc')::float8 < (decision_detail ->> 'previous_pr_auc')::float8
					   FROM vigil.models WHERE id = $bad}),
	't', 'its PR-AUC on the same rows is lower, and both are recorded');
is($node->safe_psql('postgres', q{SELECT id FROM vigil.models WHERE state = 'active'}),
	$active, 'the active model stays');
is($node->safe_psql('postgres', 'SELECT alert_threshold FROM vigil.watches'),
	$threshold, 'and so does the threshold');
is($node->safe_psql('postgres', $failed), '', 'no retrain run failed');

$node->safe_psql('postgres', 'SELECT vigil.unschedule_maintenance()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '0',
	'unschedule_maintenance removes the retrain job too');

$node->stop;
done_testing();
