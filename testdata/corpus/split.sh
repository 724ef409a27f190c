#!/bin/sh
# split.sh - the one train/dev/test split of the labelled corpus.
#
# usage: testdata/corpus/split.sh train|dev|test|traindev LANG
# Prints that split of testdata/corpus/reviews.LANG.jsonl.gz on stdout.
# Row i (0-based line number; rows are already in random order) is
#   test  when i % 5 == 0   (20%, never used for training or tuning)
#   dev   when i % 5 == 1   (20%, for tuning choices)
#   train otherwise         (60%)
# Final models may be trained on traindev once choices are fixed.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 train|dev|test|traindev LANG" >&2; exit 2; }
f=$(dirname "$0")/reviews.$2.jsonl.gz
case $1 in
test)	 want='i % 5 == 0' ;;
dev)	 want='i % 5 == 1' ;;
train)	 want='i % 5 >= 2' ;;
traindev) want='i % 5 >= 1' ;;
*)	 echo "$0: unknown split '$1'" >&2; exit 2 ;;
esac
gzip -dc "$f" | awk "{ i = NR - 1 } $want"
