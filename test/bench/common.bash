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

# Time queries A and B RUNS times each, interleaved; print both medians and
# the ratio B / A.
compare() {
	local label=$1 a=$2 b=$3 runs=${RUNS:-5} ta=() tb=()
	time_query "$a" >/dev/null
	time_query "$b" >/dev/null
	for _ in $(seq "$runs"); do
		ta+=("$(time_query "$a")")
		tb+=("$(time_query "$b")")
	done
	local ma mb
	ma=$(printf '%s\n' "${ta[@]}" | median)
	mb=$(printf '%s\n' "${tb[@]}" | median)
	awk -v l="$label" -v a="$ma" -v b="$mb" \
		'BEGIN {printf "%-46s baseline %9.1f ms  vigil %9.1f ms  ratio %.2fx\n", l, a, b, b / a}'
}

# Like compare, but run a setup statement (untimed) before every timed run.
compare_with_setup() {
	local label=$1 setup=$2 a=$3 b=$4 runs=${RUNS:-3} ta=() tb=()
	for _ in $(seq "$runs"); do
		$PSQL -c "$setup" >/dev/null
		ta+=("$(time_query "$a")")
		$PSQL -c "$setup" >/dev/null
		tb+=("$(time_query "$b")")
	done
	local ma mb
	ma=$(printf '%s\n' "${ta[@]}" | median)
	mb=$(printf '%s\n' "${tb[@]}" | median)
	awk -v l="$label" -v a="$ma" -v b="$mb" \
		'BEGIN {printf "%-46s baseline %9.1f ms  vigil %9.1f ms  ratio %.2fx\n", l, a, b, b / a}'
}
