#!/bin/sh
# dedupe.sh - accuracy on bench/gen data with ground truth, records/s in
# exact and near mode, peak RSS per million records, in memory and spilling.
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them).  Makes
# bench/data/reviews-N.jsonl.gz with build/bench/gen when missing.
# BENCH_DEDUPE_10M=1 adds the 10M distinct records run with --memory 256M
# (about 4 GB of data in BENCH_DATA and several minutes).
set -eu
: "${REVPIPE:?}" "${BENCH_DATA:?}" "${BENCH_N:=1000000}"
top=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN:-$top/build/bench/gen}
eval=${DEDUPE_EVAL:-$top/build/bench/dedupe_eval}
[ -x "$gen" ] && [ -x "$eval" ] || make -s -C "$top" build/bench/gen \
    build/bench/dedupe_eval >&2
# Our own copy with the ground truth file (-T), decoded as in production.
src=$BENCH_DATA/dedupe-$BENCH_N.jsonl.gz
truth=$BENCH_DATA/dedupe-$BENCH_N.truth
mp=$BENCH_DATA/dedupe-$BENCH_N.msgpack
if [ ! -s "$mp" ] || [ ! -s "$truth" ]; then
	"$gen" -z -n "$BENCH_N" -c "$top/testdata/corpus" -T "$truth" -o "$src"
	"$REVPIPE" decode -q -f "$src" >"$mp"
fi

# Best of three: the machine is shared; a figure is a capability.
best() {
	b=999999999
	for _ in 1 2 3; do
		s=$(date +%s%N); "$@" <"$mp" >/dev/null; e=$(date +%s%N)
		t=$(((e - s) / 1000000)); [ $t -lt $b ] && b=$t
	done
	echo $b
}
rss() {
	/usr/bin/time -f %M "$@" <"$mp" 2>&1 >/dev/null | tail -n 1
}

acc=$("$REVPIPE" dedupe -f --keep --memory 8G <"$mp" | "$eval" -t "$truth")
echo "$acc" | sed -n 's/^duplicates: \(.*\)/bench dedupe: near mode, exact+near duplicates vs ground truth: \1/p'
echo "$acc" | sed -n 's/^templates: \(.*\)/bench dedupe: template marking vs ground truth: \1/p'
acc=$("$REVPIPE" dedupe -f --keep --mode exact --memory 8G <"$mp" | \
    "$eval" -t "$truth")
echo "$acc" | sed -n 's/^duplicates: \(.*\)/bench dedupe: exact mode vs ground truth (near edits are not its job): \1/p'

pt=$(best "$REVPIPE" validate -f --no-utf8)
for mode in exact near; do
	ms=$(best "$REVPIPE" dedupe -f --mode $mode --memory 8G)
	cpu=$(/usr/bin/time -f '%U %S' "$REVPIPE" dedupe -f --mode $mode \
	    --memory 8G <"$mp" 2>&1 >/dev/null | tail -n 1)
	echo "bench dedupe: $mode mode in memory, $BENCH_N records in $ms ms: $((BENCH_N * 1000 / ms)) records/s ($(awk "BEGIN{printf \"%.2f\", $ms/$pt}")x the time of a pass-through stage, $pt ms); per CPU second (user+sys $cpu): $(echo $cpu | awk -v n=$BENCH_N '{printf "%.0f", n / ($1 + $2)}') records/s"
done
for mode in exact near; do
	kb=$(cat "$mp" | /usr/bin/time -f %M "$REVPIPE" dedupe -f --mode $mode \
	    --memory 8G 2>&1 >/dev/null | tail -n 1)
	echo "bench dedupe: $mode mode in memory from a pipe (records spooled to a temporary file): peak RSS $((kb / 1024)) MB"
	kb=$(rss "$REVPIPE" dedupe -f --mode $mode --memory 8G)
	echo "bench dedupe: $mode mode in memory: peak RSS $((kb / 1024)) MB, $(awk "BEGIN{printf \"%.0f\", $kb * 1000000 / $BENCH_N / 1024}") MB per million records (records are read again from the input file)"
	s=$(date +%s%N)
	kb=$(rss "$REVPIPE" dedupe -q -f --mode $mode --memory 32M)
	e=$(date +%s%N); ms=$(((e - s) / 1000000))
	echo "bench dedupe: $mode mode with --memory 32M (spills): peak RSS $((kb / 1024)) MB, $(awk "BEGIN{printf \"%.0f\", $kb * 1000000 / $BENCH_N / 1024}") MB per million records, $((BENCH_N * 1000 / ms)) records/s"
done

if [ "${BENCH_DEDUPE_10M:-0}" = 1 ]; then
	big=$BENCH_DATA/dedupe-distinct-10M.msgpack
	if [ ! -s "$big" ]; then
		"$gen" -z -n 10000000 -e 0 -r 0 -t 0 -s 2 \
		    -c "$top/testdata/corpus" -o "$big.jsonl.gz"
		"$REVPIPE" decode -q -f "$big.jsonl.gz" >"$big"
		rm -f "$big.jsonl.gz"
	fi
	s=$(date +%s%N)
	kb=$(/usr/bin/time -f %M "$REVPIPE" dedupe -q -f --memory 256M <"$big" \
	    2>&1 >/dev/null | tail -n 1)
	e=$(date +%s%N); ms=$(((e - s) / 1000000))
	echo "bench dedupe: 10M distinct records, near mode, --memory 256M: peak RSS $((kb / 1024)) MB, $((10000000 * 1000 / ms)) records/s"
fi
