#!/bin/sh
# report-check.sh - render report.html in headless Chromium (Debian's
# chromium package) and fail when the page has console errors, a chart is
# missing, or the screenshot is blank.
#
# usage: tests/report-check.sh REVPIPE [REPORT.html]
# Without REPORT.html it makes one with `revpipe stats` from
# testdata/stats/merge-2-7/records.jsonl (no model needed).
# Prints "report-check: ok (...)" and exits 0, or says what is wrong and
# exits 1; exits 77 (skipped) when chromium is not installed.
set -u
[ $# -ge 1 ] || { echo "usage: tests/report-check.sh REVPIPE [REPORT.html]" >&2; exit 2; }
REVPIPE=$1
top=$(cd "$(dirname "$0")/.." && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "report-check: chromium not installed (apt-get install chromium); skipped"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-report.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
if [ $# -ge 2 ]; then
	report=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
else
	"$REVPIPE" cat --to-msgpack "$top/testdata/stats/merge-2-7/records.jsonl" |
	    "$REVPIPE" stats -o "$work/out" || { echo "report-check: stats failed"; exit 1; }
	report=$work/out/report.html
fi
[ -s "$report" ] || { echo "report-check: no report at '$report'"; exit 1; }

# Network off at every level: no resources are fetched by a good page
# anyway, and a page that tries shows up as a console error.
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
 --disable-background-networking --disable-component-update --disable-sync
 --disable-extensions --mute-audio --hide-scrollbars
 --proxy-server=127.0.0.1:9 --user-data-dir=$work/profile
 --enable-logging=stderr --v=0 --window-size=1280,2600"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --dump-dom "file://$report" >"$work/dom.html" 2>"$work/dom.log"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --screenshot="$work/shot.png" "file://$report" \
    >/dev/null 2>"$work/shot.log"

fail=0
if grep -q 'CONSOLE' "$work/dom.log" "$work/shot.log"; then
	echo "report-check: console messages from the page:"
	grep 'CONSOLE' "$work/dom.log" "$work/shot.log" | head -10
	fail=1
fi
for id in chart-rating chart-sentiment-lang chart-topics-seller chart-neg-day \
    chart-replies-due; do
	if ! grep -q "<svg id=\"$id\"" "$work/dom.html"; then
		echo "report-check: chart '$id' missing from the rendered page"
		fail=1
	fi
done
nrect=$(grep -o '<rect ' "$work/dom.html" | wc -l)
[ "$nrect" -ge 10 ] || { echo "report-check: only $nrect bars drawn"; fail=1; }
for id in worst-sellers pain-points; do
	grep -q "<table id=\"$id\"" "$work/dom.html" ||
	    { echo "report-check: table '$id' missing"; fail=1; }
done
# The PNG: present, the size asked for, and not one flat colour.
python3 - "$work/shot.png" <<'PY' || fail=1
import struct, sys, zlib
p = sys.argv[1]
try:
    data = open(p, "rb").read()
except OSError:
    print("report-check: no screenshot"); sys.exit(1)
if data[:8] != b"\x89PNG\r\n\x1a\n":
    print("report-check: screenshot is not a PNG"); sys.exit(1)
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h = struct.unpack(">II", body[:8])
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
distinct = len(set(raw[::7]))
if w < 800 or h < 600 or distinct < 16:
    print("report-check: screenshot %dx%d looks blank (%d distinct byte values)" % (w, h, distinct))
    sys.exit(1)
print("report-check: screenshot %dx%d, %d distinct byte values" % (w, h, distinct))
PY
if [ $fail -ne 0 ]; then
	echo "report-check: FAILED for $report"
	exit 1
fi
echo "report-check: ok ($nrect bars, 5 charts, no console messages)"
