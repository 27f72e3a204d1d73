# Helpers shared by the benchmark scripts (sourced, not run).

# Median wall time in ms of a query over N runs.  Runs of the queries being
# compared are interleaved by the caller so drift hits both alike.
time_query() {
	$PSQL -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

# Median of the numbers on stdin.
median() {
	sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# Time queries A and B RUNS times each (default 5), interleaved, and print
# both medians and the ratio B / A.  With a SETUP statement, it runs
# (untimed) before every timed query; without one, each query runs once
# untimed first to warm the cache.
compare() {
	local label=$1 a=$2 b=$3 setup=${4:-} runs=${RUNS:-5} ta=() tb=() ma mb
	if [ -z "$setup" ]; then
		time_query "$a" >/dev/null
		time_query "$b" >/dev/null
	fi
	for _ in $(seq "$runs"); do
		[ -n "$setup" ] && $PSQL -c "$setup" >/dev/null
		ta+=("$(time_query "$a")")
		[ -n "$setup" ] && $PSQL -c "$setup" >/dev/null
		tb+=("$(time_query "$b")")
	done
	ma=$(printf '%s\n' "${ta[@]}" | median)
	mb=$(printf '%s\n' "${tb[@]}" | median)
	awk -v l="$label" -v a="$ma" -v b="$mb" \
		'BEGIN {printf "%-46s baseline %9.1f ms  vigil %9.1f ms  ratio %.2fx\n", l, a, b, b / a}'
}

# Wait until query q (which returns a boolean) is true, asking every 0.1 s
# for at most s seconds; fail, saying so, if it never is.
wait_until() {
	local q=$1 s=$2
	for _ in $(seq $((s * 10))); do
		[ "$($PSQL -At -c "$q")" = t ] && return 0
		sleep 0.1
	done
	echo "not true after $s s: $q" >&2
	return 1
}
