# A statement's memory does not grow with its rows, whatever detection makes
# of them.  Each statement inserts N rows into a watched table while the
# backend's anonymous memory (RssAnon in /proc, sampled; not VmHWM, which
# counts the shared buffers it touched) is watched: rows skipped because
# their key is NULL, rows that all alert, half of each, and rows each of a
# new key, 1M and 3M of each, against ordinary rows.  Before detection wrote alerts and skips as it went, 3M
# skipped rows took 3.85 GB.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('memory');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vigil'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vigil;
	CREATE TABLE t (id bigint PRIMARY KEY, card text, amount numeric, ts timestamptz, merchant text);
	SELECT vigil.watch('t', 'card', 'amount', 'ts', merchant_column => 'merchant');
});

# The peak RssAnon, in MB, of the backend that runs sql.
my $probe = 0;
sub peak_mb
{
	my ($sql) = @_;
	my $app = 'memory_probe_' . $probe++;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $node->installed_command('psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres') . " application_name=$app", '-c', $sql ],
		'>', \$out, '2>', \$err);
	my ($pid, $peak) = ('', 0);
	while ($h->pumpable)
	{
		$pid ||= $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = '$app'");
		if ($pid && open(my $fh, '<', "/proc/$pid/status"))
		{
			while (<$fh>)
			{
				$peak = $1 if /^RssAnon:\s+(\d+)\s+kB/ && $1 > $peak;
			}
			close $fh;
		}
		usleep(20_000);
		$h->pump_nb;
	}
	ok($h->finish, "the statement succeeds $err");
	ok($pid, 'and its backend was watched');
	return $peak / 1024;
}

# Insert n rows; $card and $amount are SQL expressions of g.
sub insert_peak
{
	my ($n, $card, $amount) = @_;
	$node->safe_psql('postgres',
		'TRUNCATE t, vigil.alerts, vigil.skipped, vigil.profiles; CHECKPOINT');
	return peak_mb("INSERT INTO t SELECT g, $card, $amount, "
		  . "timestamptz '2020-01-01' + g * interval '1 second', 'm' || (g % 50) "
		  . "FROM generate_series(1, $n) g");
}

my $ordinary = insert_peak(1_000_000, q{'c' || (g % 10000)}, '10 + (g % 7)');
# every row a new key: a profile inserted for each (through the statement
# when vigil.direct_writes is off)
my $new1 = insert_peak(1_000_000, q{'k' || g}, '10 + (g % 7)');
my $new3 = insert_peak(3_000_000, q{'k' || g}, '10 + (g % 7)');
my $skip1 = insert_peak(1_000_000, 'NULL', '10');
my $skip3 = insert_peak(3_000_000, 'NULL', '10');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vigil.skipped'), '3000000',
	'every skipped row is recorded');

# every row alerts
$node->safe_psql('postgres',
	q{UPDATE vigil.rules SET enabled = true, params = '{"limit": 1}' WHERE name = 'amount_limit'});
my $alert1 = insert_peak(1_000_000, q{'c' || (g % 10000)}, '10 + (g % 7)');
my $alert3 = insert_peak(3_000_000, q{'c' || (g % 10000)}, '10 + (g % 7)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM vigil.alerts'), '3000000',
	'every alerting row has its alert');
# every other row skipped, the rest alerting: both kinds in every write
my $mixed_card = q{CASE WHEN g % 2 = 0 THEN NULL ELSE 'c' || (g % 10000) END};
my $mixed1 = insert_peak(1_000_000, $mixed_card, '10 + (g % 7)');
my $mixed3 = insert_peak(3_000_000, $mixed_card, '10 + (g % 7)');
is($node->safe_psql('postgres', 'SELECT (SELECT count(*) FROM vigil.alerts) || \' \' || (SELECT count(*) FROM vigil.skipped)'),
	'1500000 1500000', 'half alerted, half skipped');

note(sprintf('peak RssAnon (MB): ordinary 1M %.0f; new keys 1M %.0f, 3M %.0f; skipped 1M %.0f, 3M %.0f; '
		  . 'alerting 1M %.0f, 3M %.0f; half and half 1M %.0f, 3M %.0f',
		$ordinary, $new1, $new3, $skip1, $skip3, $alert1, $alert3, $mixed1, $mixed3));

# Skipped rows cost about what ordinary rows do; alerts hold at most what
# the alert writer and one chunk keep (tens of MB) more; three times the
# rows take no more memory than one time (the allocator's peak settles over
# the first batches: half-and-half rows measured 118, 154 and 157 MB for 1M,
# 3M and 6M, so the margin is 64 MB; a leak of 32 bytes a row exceeds it).
cmp_ok($skip1, '<', $ordinary + 64, '1M skipped rows: within 64 MB of ordinary rows');
cmp_ok($alert1, '<', $ordinary + 256, '1M alerting rows: within 256 MB of ordinary rows');
cmp_ok($new3, '<', $new1 + 64, '3M rows of new keys take no more than 1M');
cmp_ok($skip3, '<', $skip1 + 64, '3M skipped rows take no more than 1M');
cmp_ok($alert3, '<', $alert1 + 64, '3M alerting rows take no more than 1M');
cmp_ok($mixed3, '<', $mixed1 + 64, '3M half-skipped, half-alerting rows take no more than 1M');

$node->stop;
done_testing();
