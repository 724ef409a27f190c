#!/bin/sh
# e2e.sh - the whole chain end to end against gzip -dc and a jq pipeline,
# on the same file in the same run.
#
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them; defaults
# ./revpipe, bench/data, 1000000).  Input: $BENCH_DATA/reviews-N.jsonl.gz,
# made with build/bench/gen when missing.  Runs, each timed:
#   gzip -dc FILE >/dev/null                       the floor: decompression
#   gzip -dc | jq | awk                            decode, exact dedupe on
#                                                  text, count by rating
#   revpipe run --chain decode,dedupe,stats        the same job in revpipe
#                                                  (near and exact dedupe,
#                                                  then exact only)
#   revpipe run (the default chain, --jobs nproc)  decode .. stats + report
#   revpipe run --jobs 1 (one chain, no dealing)   the same without workers
#   taskset -c 0 revpipe run (--jobs nproc)        pinned to one core
# Prints "bench e2e: ..." lines (MB/s of uncompressed JSON, records/s,
# peak RSS summed over the chain's processes, ratios) and keeps them in
# bench/results/e2e-<UTC time>.txt with the core count.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
REVPIPE=${REVPIPE:-$top/revpipe}
BENCH_DATA=${BENCH_DATA:-$top/bench/data}
BENCH_N=${BENCH_N:-1000000}
mkdir -p "$BENCH_DATA" "$top/bench/results"
src=$BENCH_DATA/reviews-$BENCH_N.jsonl.gz
if [ ! -s "$src" ]; then
	gen=$top/build/bench/gen
	[ -x "$gen" ] || make -C "$top" build/bench/gen >/dev/null
	"$gen" -z -n "$BENCH_N" -c "$top/testdata/corpus" -o "$src"
fi
for tool in jq gzip awk; do
	command -v $tool >/dev/null || { echo "bench e2e: no $tool; skipped"; exit 0; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cores=$(nproc)
res=$top/bench/results/e2e-$(date -u +%Y%m%dT%H%M%SZ).txt
gzbytes=$(stat -c %s "$src")
jsonbytes=$(gzip -dc "$src" | wc -c)

say() { echo "bench e2e: $*" | tee -a "$res"; }

# now_ms; peak RSS in KiB of a command and its descendants, summed, from
# build/bench/rsswatch (a sample every 50 ms costs a few dozen system
# calls: the shell loop of pgrep, ps and awk it replaced took a quarter of
# the wall time of a two-second run on two cores away from the command).
now_ms() { date +%s%3N; }
rsswatch=$top/build/bench/rsswatch
[ -x "$rsswatch" ] || make -C "$top" build/bench/rsswatch >/dev/null
# timed NAME CMD...: runs CMD, records ms and peak RSS.
timed() {
	name=$1; shift
	s=$(now_ms)
	st=0; "$rsswatch" "$work/$name.rss" "$@" || st=$?
	e=$(now_ms)
	echo $((e - s)) >"$work/$name.ms"
	# Only the manifest is read later: free the disk (GBs at 1M reviews).
	rm -f "$work/$name/reviews.msgpack" "$work/$name/replies.csv"
	[ $st -eq 0 ] || { say "$name FAILED (exit $st)"; return 1; }
}
mbs() { awk -v b="$jsonbytes" -v ms="$(cat "$work/$1.ms")" 'BEGIN { printf "%.1f", b / 1e6 / (ms / 1000) }'; }
rps() { awk -v n="$BENCH_N" -v ms="$(cat "$work/$1.ms")" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
ratio() { awk -v a="$(cat "$work/$1.ms")" -v b="$(cat "$work/$2.ms")" 'BEGIN { printf "%.2f", b / a }'; }
rss() { awk -v k="$(cat "$work/$1.rss")" 'BEGIN { printf "%.0f MB", k / 1024 }'; }

{
	echo "# revpipe e2e bench, $(date -u +%Y-%m-%dT%H:%MZ), $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $("$REVPIPE" --version)"
	echo "# input $src: $BENCH_N reviews, $jsonbytes bytes JSON Lines, $gzbytes bytes gzip"
} | tee "$res"

timed gzip sh -c "gzip -dc '$src' >/dev/null"
# The least a user would do by hand: decode, exact dedupe on text, count
# by a field (rating).
timed jq sh -c "gzip -dc '$src' | jq -r '[(.rating // \"none\" | tostring), .text] | @tsv' |
    awk -F '\t' '!seen[\$2]++ { n[\$1]++ } END { for (k in n) print k, n[k] }' >'$work/jq.out'"
timed dds "$REVPIPE" run -q --chain decode,dedupe,stats --force -o "$work/dds" "$src"
# The jq pipeline only dedupes exactly: the same job with dedupe --mode exact.
printf '[dedupe]\nmode = exact\n' >"$work/exact.conf"
timed ddx "$REVPIPE" run -q -c "$work/exact.conf" --chain decode,dedupe,stats \
    --force -o "$work/ddx" "$src"
timed chain "$REVPIPE" run -q --force --jobs "$cores" -o "$work/chain" "$src"
# One chain (--jobs 1: no dealing), which may beat workers on few cores.
timed chaind "$REVPIPE" run -q --force --jobs 1 -o "$work/chaind" "$src"
timed chain1 taskset -c 0 "$REVPIPE" run -q --force --jobs "$cores" -o "$work/chain1" "$src"

say "gzip -dc >/dev/null: $(mbs gzip) MB/s, $(rps gzip) records/s, peak RSS $(rss gzip)"
say "jq pipeline (decode, exact dedupe on text, count by rating): $(mbs jq) MB/s, $(rps jq) records/s, peak RSS $(rss jq)"
say "revpipe decode|dedupe|stats: $(mbs dds) MB/s, $(rps dds) records/s, peak RSS $(rss dds); $(ratio dds jq)x the jq pipeline (goal >= 7)"
say "revpipe decode|dedupe --mode exact|stats: $(mbs ddx) MB/s, $(rps ddx) records/s, peak RSS $(rss ddx); $(ratio ddx jq)x the jq pipeline"
say "revpipe run, whole chain, --jobs $cores: $(mbs chain) MB/s, $(rps chain) records/s, peak RSS $(rss chain) (goal < 1024 MB)"
say "whole chain vs gzip -dc: $(ratio chain gzip)x (goal >= 0.55)"
if [ -f "$work/chaind/manifest.json" ]; then
	say "whole chain, --jobs 1 (one chain): $(mbs chaind) MB/s, $(rps chaind) records/s, peak RSS $(rss chaind); vs gzip -dc $(ratio chaind gzip)x"
fi
say "whole chain on $cores cores vs pinned to one (taskset -c 0): $(ratio chain chain1)x (goal >= 1.5)"
if [ -f "$work/chain/manifest.json" ]; then
	say "whole chain accounting: $(jq -c '.accounting | {read, written, duplicates, rejects, ok}' "$work/chain/manifest.json")"
	say "whole chain CPU seconds by stage: $(jq -r '[.stages[] | "\(.stage) \(.cpu_user_s + .cpu_sys_s | . * 10 | round / 10)"] + ["run \(.timings.run_cpu_user_s + .timings.run_cpu_sys_s | . * 10 | round / 10)"] | join(", ")' "$work/chain/manifest.json")"
fi
echo "bench e2e: results in ${res#$top/}"
