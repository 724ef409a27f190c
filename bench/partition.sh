#!/bin/sh
# partition.sh - the map/reduce path: partition and gather records/s, and
# `revpipe slurm submit --local` against `revpipe run` on the same shards
# (wall time, and whether the outputs are identical).
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them).
# BENCH_SLURM_N (default 200000, at most BENCH_N) reviews in 8 shards for
# the end-to-end comparison.
set -eu
: "${REVPIPE:?}" "${BENCH_DATA:?}" "${BENCH_N:=1000000}"
top=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN:-$top/build/bench/gen}
[ -x "$gen" ] || make -s -C "$top" build/bench/gen >&2
n=${BENCH_SLURM_N:-200000}
[ "$n" -le "$BENCH_N" ] || n=$BENCH_N
d=$BENCH_DATA/partition-$n
if [ ! -s "$d/shard-7.jsonl.gz" ]; then
	mkdir -p "$d"
	for i in 0 1 2 3 4 5 6 7; do
		"$gen" -z -n $((n / 8)) -s $((i + 1)) -c "$top/testdata/corpus" \
		    -o "$d/shard-$i.jsonl.gz"
	done
fi
mp=$d/all.msgpack
[ -s "$mp" ] || "$REVPIPE" decode -q -f "$d"/shard-*.jsonl.gz > "$mp"
w=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-bench-partition.XXXXXX")
trap 'rm -rf "$w"' EXIT INT TERM

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# Best of three: the machine is shared; a figure is a capability.
best() {
	b=999999999
	for _ in 1 2 3; do
		s=$(date +%s%N); "$@"; t=$(ms "$s")
		[ "$t" -lt "$b" ] && b=$t
	done
	echo "$b"
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }

t=$(best sh -c "rm -rf '$w/p'; '$REVPIPE' partition --parts 64 --out '$w/p' < '$mp'")
echo "bench partition: partition --parts 64: $(rate "$n" "$t") records/s ($n records, ${t} ms)"
t=$(best sh -c "'$REVPIPE' gather '$w'/p/part-*.msgpack > /dev/null")
echo "bench partition: gather of 64 parts: $(rate "$n" "$t") records/s"

cd "$d"
s=$(date +%s%N)
"$REVPIPE" run -q --force -o "$w/run" shard-*.jsonl.gz 2>/dev/null
t_run=$(ms "$s")
s=$(date +%s%N)
"$REVPIPE" slurm submit -q --local --run "$w/slurm" --parts 8 shard-*.jsonl.gz
t_slurm=$(ms "$s")
same=identical
for f in reviews.msgpack replies.csv stats.json; do
	cmp -s "$w/run/$f" "$w/slurm/out/$f" || same="DIFFERENT ($f)"
done
echo "bench partition: $n reviews, 8 shards, $(nproc) cores: revpipe run" \
    "${t_run} ms, slurm --local P=8 ${t_slurm} ms" \
    "($(awk -v a="$t_slurm" -v b="$t_run" 'BEGIN { printf "%.2f", a / b }')x)," \
    "outputs $same"
