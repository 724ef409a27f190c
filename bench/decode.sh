#!/bin/sh
# decode.sh - decode throughput against `gzip -dc` on the same file.
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them).  Uses
# $BENCH_DATA/reviews-$BENCH_N.jsonl.gz (bench/gen makes it); when that
# is missing it makes its own from the corpus with python3.
#
# Prints: decode MB/s of uncompressed input and records/s, single thread,
# to msgpack (>/dev/null), and the ratio to `gzip -dc >/dev/null` measured
# in the same run, best of three each (the machine is shared).
set -eu
: "${REVPIPE:?}" "${BENCH_DATA:?}" "${BENCH_N:=1000000}"
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$BENCH_DATA"
f=$BENCH_DATA/reviews-$BENCH_N.jsonl.gz
if [ ! -s "$f" ] && [ -x "$top/build/bench/gen" ]; then
	"$top/build/bench/gen" -z -n "$BENCH_N" -o "$f" || rm -f "$f"
fi
if [ ! -s "$f" ]; then
	f=$BENCH_DATA/decode-$BENCH_N.jsonl.gz
	[ -s "$f" ] || N=$BENCH_N TOP=$top python3 - "$f" <<'PY'
import gzip, json, os, sys
rows = []
for lang in ("ar", "el", "en", "fa", "kk", "ru", "tr"):
    with gzip.open(f"{os.environ['TOP']}/testdata/corpus/reviews.{lang}.jsonl.gz", "rt") as z:
        rows += [json.loads(l) for l in z]
with gzip.open(sys.argv[1], "wt", compresslevel=6) as out:
    for i in range(int(os.environ["N"])):
        r = rows[(i * 7919) % len(rows)]
        out.write(json.dumps({"id": f"r{i}", "seller": f"seller{i % 977}",
            "buyer": f"buyer{i % 50021}", "order_id": f"o{i}",
            "service": f"service {i % 50}", "rating": r.get("rating") or i % 5 + 1,
            "created_at": 1790000000 + i * 37, "text": r["text"]},
            ensure_ascii=False) + "\n")
PY
fi
raw=$(gzip -dc "$f" | wc -c)
n=$(gzip -dc "$f" | wc -l)
best() {
	b=999999
	for _ in 1 2 3; do
		s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
		t=$(((e - s) / 1000000)); [ $t -lt $b ] && b=$t
	done
	[ $b -gt 0 ] || b=1
	echo $b
}
# CPU seconds (user + sys), best of three: steadier than wall time when
# the machine is shared; needs /usr/bin/time.
tf=$(mktemp)
trap 'rm -f "$tf"' EXIT
cpu() {
	b=999999
	for _ in 1 2 3; do
		/usr/bin/time -o "$tf" -f '%U %S' "$@" >/dev/null 2>&1 || true
		t=$(tail -n 1 "$tf" | awk '{printf "%d", ($1 + $2) * 1000}')
		[ -n "$t" ] && [ "$t" -gt 0 ] && [ "$t" -lt $b ] && b=$t
	done
	[ $b -gt 0 ] || b=1
	echo $b
}
gz=$(best gzip -dc "$f")
dec=$(best "$REVPIPE" decode -f -q "$f")
mb=$((raw / 1048576))
echo "bench decode: $(basename "$f"): $n records, $mb MB uncompressed"
echo "bench decode: gzip -dc >/dev/null: $gz ms, $((mb * 1000 / gz)) MB/s"
echo "bench decode: decode to msgpack, 1 thread: $dec ms, $((mb * 1000 / dec)) MB/s, $((n * 1000 / dec)) records/s, $(awk "BEGIN{printf \"%.2f\", $gz/$dec}")x gzip -dc"
if [ -x /usr/bin/time ]; then
	gzc=$(cpu gzip -dc "$f")
	decc=$(cpu "$REVPIPE" decode -f -q "$f")
	echo "bench decode: CPU time: gzip -dc $gzc ms, decode $decc ms: $(awk "BEGIN{printf \"%.2f\", $gzc/$decc}")x gzip -dc"
fi
