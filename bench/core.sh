#!/bin/sh
# core.sh - record I/O: a pass-through stage on a file, and between stages.
# Needs REVPIPE, BENCH_DATA, BENCH_N (bench/run.sh sets them).  Makes its
# own msgpack input (review.v1, through decode) from the generated
# reviews-N.jsonl.gz when missing.
set -eu
: "${REVPIPE:?}" "${BENCH_DATA:?}" "${BENCH_N:=1000000}"
mp=$BENCH_DATA/core-$BENCH_N.msgpack
if [ ! -s "$mp" ]; then
	src=$BENCH_DATA/reviews-$BENCH_N.jsonl.gz
	if [ ! -s "$src" ]; then
		echo "bench core: no $src (bench/gen makes it); skipped"
		exit 0
	fi
	"$REVPIPE" decode "$src" >"$mp"
fi
mb=$(($(stat -c %s "$mp") / 1048576))
# Best of three: the machine is shared; a figure is a capability.
best() {
	b=999999
	for _ in 1 2 3; do
		s=$(date +%s%N); "$@" <"$mp" >/dev/null; e=$(date +%s%N)
		t=$(((e - s) / 1000000)); [ $t -lt $b ] && b=$t
	done
	echo $b
}
ms=$(best "$REVPIPE" validate -f --no-utf8)
echo "bench core: pass-through (validate --no-utf8) $BENCH_N records, ${mb} MB in ${ms} ms: $((BENCH_N * 1000 / ms)) records/s, $((mb * 1000 / ms)) MB/s"
ms=$(best "$REVPIPE" validate -f)
echo "bench core: validate with UTF-8 checks: $((BENCH_N * 1000 / ms)) records/s, $((mb * 1000 / ms)) MB/s"
s=$(date +%s%N)
"$REVPIPE" validate -f --no-utf8 <"$mp" | "$REVPIPE" validate --no-utf8 | \
    "$REVPIPE" validate --no-utf8 >/dev/null
e=$(date +%s%N); ms=$(((e - s) / 1000000))
echo "bench core: three pass-through stages over pipes (1 MiB pipe buffers, 256 KiB writes): $((BENCH_N * 1000 / ms)) records/s"
s=$(date +%s%N)
REVPIPE_PIPE_SIZE=0 "$REVPIPE" validate -f --no-utf8 <"$mp" | \
    REVPIPE_PIPE_SIZE=0 "$REVPIPE" validate --no-utf8 | \
    REVPIPE_PIPE_SIZE=0 "$REVPIPE" validate --no-utf8 >/dev/null
e=$(date +%s%N); ms2=$(((e - s) / 1000000))
echo "bench core: the same with the kernel's default 64 KiB pipes: $((BENCH_N * 1000 / ms2)) records/s; big pipes are $(awk "BEGIN{printf \"%.2f\", $ms2/$ms}")x faster"
