#!/bin/sh
# classify.sh - throughput of `revpipe classify`, one thread, on generated
# reviews that have been through langid (as in the chain).
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them).  Makes its
# input from $BENCH_DATA/reviews-N.jsonl.gz (built with build/bench/gen
# when missing); langid runs once, untimed.  Also times classify-eval's
# analysis alone on the corpus test split (texts in memory).
# Prints "bench classify: ..." lines.
set -eu
: "${REVPIPE:?}" "${BENCH_DATA:?}" "${BENCH_N:=1000000}"
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$BENCH_DATA"
in=$BENCH_DATA/classify-$BENCH_N.msgpack
if [ ! -s "$in" ]; then
	src=$BENCH_DATA/reviews-$BENCH_N.jsonl.gz
	if [ ! -s "$src" ]; then
		gen=$top/build/bench/gen
		[ -x "$gen" ] || make -C "$top" build/bench/gen >/dev/null
		"$gen" -z -n "$BENCH_N" -c "$top/testdata/corpus" -o "$src"
	fi
	gzip -dc "$src" | "$REVPIPE" cat --to-msgpack | "$REVPIPE" langid -q \
	    >"$in"
fi
n=$("$REVPIPE" cat "$in" | wc -l)
mb=$(($(stat -c %s "$in") / 1048576))
# Best of three: the machine is shared; a figure is a capability.  CPU
# time (user + sys, from /usr/bin/time when installed) is less sensitive
# to the neighbours than the wall clock.
b=999999 cpu=
for _ in 1 2 3; do
	s=$(date +%s%N)
	if [ -x /usr/bin/time ]; then
		c=$(/usr/bin/time -f '%U %S' "$REVPIPE" classify -f <"$in" \
		    2>&1 >/dev/null | tail -1 | awk '{printf "%d", ($1 + $2) * 1000}')
	else
		"$REVPIPE" classify -f <"$in" >/dev/null; c=
	fi
	e=$(date +%s%N)
	t=$(((e - s) / 1000000))
	if [ $t -lt $b ]; then b=$t; fi
	if [ -n "$c" ] && { [ -z "$cpu" ] || [ "$c" -lt "$cpu" ]; }; then cpu=$c; fi
done
[ "$b" -gt 0 ] || b=1
echo "bench classify: $n records (${mb} MB msgpack, after langid) in ${b} ms wall, one thread: $((n * 1000 / b)) records/s"
if [ -n "$cpu" ] && [ "$cpu" -gt 0 ]; then
	echo "bench classify: CPU time ${cpu} ms: $((n * 1000 / cpu)) records/s of CPU"
fi
