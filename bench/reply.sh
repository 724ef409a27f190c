#!/bin/sh
# reply.sh - throughput of `revpipe reply`, one thread.
#
# usage: REVPIPE=./revpipe BENCH_DATA=bench/data bench/reply.sh
#   REPLY_N   records to time (default: BENCH_N, else 500000)
# Input: the dev corpus of every language with the classify keys of
# testdata/reply/corpus-check/synth.py, repeated up to REPLY_N records
# (about 450 bytes each; 40% negative, whose replies are the costly
# ones).  Prints records/s by wall clock and by CPU time (the machine is
# shared, so CPU time is the steadier figure), and the ratio to `gzip -dc`
# of the same stream compressed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
REVPIPE=${REVPIPE:-$top/revpipe}
BENCH_DATA=${BENCH_DATA:-$top/bench/data}
N=${REPLY_N:-${BENCH_N:-500000}}
d=$BENCH_DATA/reply
mkdir -p "$d"

if [ ! -s "$d/one.msgpack" ]; then
	for l in ar el en fa kk ru tr; do
		gzip -dc "$top/testdata/corpus/reviews.$l.jsonl.gz"
	done | python3 "$top/testdata/reply/corpus-check/synth.py" \
	    >"$d/one.jsonl"
	"$REVPIPE" cat --to-msgpack "$d/one.jsonl" >"$d/one.msgpack"
fi
one=$(wc -l <"$d/one.jsonl")
reps=$(( (N + one - 1) / one ))
if [ ! -s "$d/in.$reps.msgpack" ]; then
	rm -f "$d"/in.*.msgpack "$d"/in.*.msgpack.gz
	i=0
	while [ $i -lt $reps ]; do cat "$d/one.msgpack"; i=$((i + 1)); done \
	    >"$d/in.$reps.msgpack"
	gzip -1 -c "$d/in.$reps.msgpack" >"$d/in.$reps.msgpack.gz"
fi
in=$d/in.$reps.msgpack
records=$((one * reps))
bytes=$(wc -c <"$in")

# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }
cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$1/stat" 2>/dev/null; }

cat "$in" >/dev/null		# warm the page cache
t0=$(now)
"$REVPIPE" reply -f <"$in" >/dev/null &
pid=$!
c=0
while kill -0 $pid 2>/dev/null; do
	c1=$(cpu $pid || true); [ -n "$c1" ] && c=$c1
	sleep 0.05
done
wait $pid
t1=$(now)
t2=$(now)
gzip -dc "$in.gz" >/dev/null
t3=$(now)
awk -v n="$records" -v b="$bytes" -v t0="$t0" -v t1="$t1" -v c="$c" \
    -v g0="$t2" -v g1="$t3" 'BEGIN {
	w = t1 - t0; g = g1 - g0
	printf "bench reply: %d records (%.0f MB) in %.2f s wall: %.0f records/s, %.1f MB/s\n", n, b / 1e6, w, n / w, b / 1e6 / w
	if (c > 0) printf "bench reply: CPU %.2f s: %.0f records/s per core\n", c, n / c
	printf "bench reply: gzip -dc of the same stream %.2f s: reply/gzip time ratio %.2f\n", g, w / g
}'
