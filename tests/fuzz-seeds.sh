#!/bin/sh
# fuzz-seeds.sh FUZZ_BINARY - print the corpus folders for a fuzz target.
# Each target gets a working corpus under build-fuzz/corpus/NAME seeded
# from testdata/ (msgpack inputs for the record reader, archives and text
# for decode targets).
set -eu
name=$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build-fuzz/corpus/$name
mkdir -p "$dir"
case $name in
rec_fuzz|stages_fuzz)
	find "$top/testdata" -name '*.msgpack' -size -64k -exec cp {} "$dir/" \; 2>/dev/null || true
	for f in $(find "$top/testdata" -name 'in.jsonl' -size -64k | head -50); do
		"$top/revpipe" cat --to-msgpack "$f" >"$dir/$(echo "$f" | cksum | cut -d' ' -f1).msgpack" 2>/dev/null || true
	done ;;
norm_fuzz|lang_fuzz|classify_fuzz)
	# Review texts, one per file, from the test split of each language.
	for l in ar el en fa kk ru tr; do
		gzip -dc "$top/testdata/corpus/reviews.$l.jsonl.gz" | head -n 20 |
		    awk -v d="$dir" -v l="$l" '{ f = d "/" l NR ".json"; print > f; close(f) }'
	done ;;
conf_fuzz)
	cp "$top/pipeline.conf" "$dir/" 2>/dev/null || true
	find "$top/testdata" -name '*.conf' -size -64k -exec cp {} "$dir/" \; 2>/dev/null || true ;;
decode_fuzz|decode_json_fuzz)
	find "$top/testdata/decode" -type f -size -64k ! -name 'expect*' \
	    ! -name cmd ! -name args -exec cp {} "$dir/" \; 2>/dev/null || true ;;
*)
	find "$top/testdata" -path "*${name%%_fuzz*}*" -type f -size -64k \
	    -exec cp {} "$dir/" \; 2>/dev/null || true ;;
esac
echo "$dir"
