#!/bin/sh
# demo.sh - `make demo`: run the whole chain over the sample exports in
# testdata/sample/ (four platforms, seven languages) and show where the
# report and the replies are.
#
# usage: tests/demo.sh REVPIPE [OUTDIR]   (OUTDIR defaults to demo-out/)
set -eu
[ $# -ge 1 ] || { echo "usage: tests/demo.sh REVPIPE [OUTDIR]" >&2; exit 2; }
REVPIPE=$1
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top/demo-out}
set -- "$top"/testdata/sample/*.gz "$top"/testdata/sample/*.zip
echo "demo: revpipe run -c pipeline.conf -o $out over $# sample exports:"
for f in "$@"; do echo "  ${f#$top/}"; done
# --force: a demo always shows a full run, even when run twice.
"$REVPIPE" run -c "$top/pipeline.conf" --force -o "$out" "$@"
out=$(cd "$out" && pwd)
echo
echo "demo: report:  $out/report.html"
echo "demo: replies: $out/replies.csv"
echo "demo: also:    $out/stats.json $out/manifest.json $out/reviews.msgpack ($REVPIPE cat it)"
