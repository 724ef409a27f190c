#!/bin/sh
# run.sh REVPIPE - `make bench`: generate data once, then run every
# bench/<stage>.sh with REVPIPE and BENCH_DATA set.  Each prints lines
# "bench <stage>: <figure>"; all of them are also kept in
# bench/results/last.txt with the machine's core count.
#
# BENCH_N (default 1000000) sets the number of generated reviews;
# BENCH_ONLY="decode langid" runs only those scripts.
set -eu
[ $# -eq 1 ] || { echo "usage: bench/run.sh REVPIPE" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
REVPIPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
BENCH_DATA=${BENCH_DATA:-$top/bench/data}
BENCH_N=${BENCH_N:-1000000}
export REVPIPE BENCH_DATA BENCH_N
mkdir -p "$BENCH_DATA" "$top/bench/results"
out=$top/bench/results/last.txt
{
	echo "# revpipe bench, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, N=$BENCH_N"
	echo "# $("$REVPIPE" --version)"
} >"$out"
cat "$out"
# One shared input for every script: N generated multilingual reviews,
# about 5% exact and 3% near duplicates, as .jsonl.gz.
src=$BENCH_DATA/reviews-$BENCH_N.jsonl.gz
if [ ! -s "$src" ]; then
	echo "bench: generating $BENCH_N reviews into $src"
	"$top/build/bench/gen" -z -n "$BENCH_N" -c "$top/testdata/corpus" \
	    -o "$src.tmp" && mv "$src.tmp" "$src"
fi
for s in "$top"/bench/*.sh; do
	name=$(basename "$s" .sh)
	[ "$name" = run ] && continue
	if [ -n "${BENCH_ONLY:-}" ]; then
		case " $BENCH_ONLY " in *" $name "*) ;; *) continue ;; esac
	fi
	sh "$s" 2>&1 | tee -a "$out" || echo "bench $name: FAILED" | tee -a "$out"
done
echo "bench: results in bench/results/last.txt"
