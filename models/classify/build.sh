#!/bin/sh
# build.sh - rebuild models/classify/sentiment.bin (see README.md there).
#
# usage: models/classify/build.sh [REVPIPE]
#   REVPIPE  the revpipe binary (default $REVPIPE, else ./revpipe)
#   SPLIT    corpus split to train on: traindev (default, the shipped
#            model) or train (to measure choices on dev)
#   OUT      model file (default models/classify/sentiment.bin)
# The lexicons are read from models/ (--models), so an edited lexicon is
# used without rebuilding revpipe first.  Training is deterministic: the
# languages are read in a fixed order and shuffled with a fixed seed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
REVPIPE=${1:-${REVPIPE:-./revpipe}}
case $REVPIPE in /*) ;; *) REVPIPE=$(pwd)/$REVPIPE ;; esac
SPLIT=${SPLIT:-traindev}
OUT=${OUT:-$top/models/classify/sentiment.bin}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-classify.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
for l in ar el en fa kk ru tr; do
	"$top/testdata/corpus/split.sh" "$SPLIT" "$l" >"$tmp/$l.jsonl"
done
nice "$REVPIPE" train-classify --models "$top/models" -o "$OUT" \
    --bits 18 --minn 5 --maxn 5 --nb 2 --epochs 10 --lr 0.1 --seed 42 \
    "$tmp/ar.jsonl" "$tmp/el.jsonl" "$tmp/en.jsonl" "$tmp/fa.jsonl" \
    "$tmp/kk.jsonl" "$tmp/ru.jsonl" "$tmp/tr.jsonl"
