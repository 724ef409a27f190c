#!/bin/sh
# langid.sh - accuracy and speed of `revpipe langid` against CLD2, in the
# same run on the same texts.
#
# usage: REVPIPE=./revpipe BENCH_DATA=bench/data bench/langid.sh
#   PASSES   timing passes over each text set (default 20)
# Text sets: the corpus test split (raw labels), the same split with the
# labels corrected by reading (testdata/langid/corrected-test.tsv; macro
# over the languages with 20 rows or more) and 30-character snippets
# of UDHR text held back from the profiles (testdata/langid/).
# CLD2 (Debian libcld2-dev) runs through bench/langid_cld2.cc, built here
# with g++; it is never linked into revpipe.  Both sides are timed on the
# detection calls alone, texts in memory, one thread.
# Prints "bench langid: ..." lines; the per-language tables go to
# $BENCH_DATA/langid-*.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
REVPIPE=${REVPIPE:-$top/revpipe}
BENCH_DATA=${BENCH_DATA:-$top/bench/data}
PASSES=${PASSES:-20}
out=$BENCH_DATA/langid
mkdir -p "$out" "$top/build/bench"

cld2=$top/build/bench/langid_cld2
if [ ! -x "$cld2" ] || [ "$top/bench/langid_cld2.cc" -nt "$cld2" ]; then
	if [ -f /usr/include/cld2/public/compact_lang_det.h ] &&
	    command -v g++ >/dev/null; then
		g++ -O2 -o "$cld2" "$top/bench/langid_cld2.cc" -lcld2
	else
		echo "bench langid: CLD2 skipped (needs libcld2-dev and g++)"
		cld2=
	fi
fi

# score GOLD PRED: per-language accuracy table and macro/micro lines.
score() {
	paste "$1" "$2" | awk -F '\t' '
	{ n[$1]++; if ($1 == $2) r[$1]++; else w[$1 "->" $2]++; t++; if ($1 == $2) rt++ }
	END {
		# Languages with a handful of rows (the few French or
		# Vietnamese reviews found while correcting) are listed but
		# left out of the macro average.
		for (l in n) { a = r[l] / n[l]; if (n[l] >= 20) { m += a; k++ }
			printf "%-4s %5d %.4f\n", l, n[l], a | "sort" }
		close("sort")
		printf "macro %.4f micro %.4f rows %d langs %d\n", m / k, rt / t, t, k
		printf "kk->ru %d/%d ru->kk %d/%d\n", w["kk->ru"], n["kk"], w["ru->kk"], n["ru"]
	}'
}

# run NAME FILE.jsonl: both tools on one text set.
run() {
	name=$1 file=$2
	[ -s "$file" ] || { echo "bench langid: $name: no '$file', skipped"; return 0; }
	jq -r '.lang' "$file" > "$out/$name.gold"
	jq -r '.text | gsub("[\\n\\r\\t]"; " ")' "$file" > "$out/$name.txt"
	# Our side reads the same folded texts, so both see identical bytes.
	jq -c '{text: (.text | gsub("[\\n\\r\\t]"; " ")), lang}' "$file" \
	    > "$out/$name.jsonl"
	"$REVPIPE" langid-eval --repeat "$PASSES" \
	    --predictions "$out/$name.ours.tsv" "$out/$name.jsonl" \
	    > "$out/$name.ours.eval"
	cut -f2 "$out/$name.ours.tsv" > "$out/$name.ours"
	score "$out/$name.gold" "$out/$name.ours" > "$out/$name.ours.txt"
	ours_speed=$(sed -n 's/^speed \([0-9]*\) texts\/s, \([0-9.]*\) MB\/s.*/\1 texts\/s \2 MB\/s/p' \
	    "$out/$name.ours.eval")
	echo "bench langid: $name revpipe $(sed -n 's/^macro/macro/p' "$out/$name.ours.txt"), $ours_speed"
	if [ -n "$cld2" ]; then
		"$cld2" "$out/$name.txt" "$out/$name.cld2" "$PASSES" \
		    > "$out/$name.cld2.eval"
		score "$out/$name.gold" "$out/$name.cld2" > "$out/$name.cld2.txt"
		cld2_speed=$(sed -n 's/^speed \([0-9]*\) texts\/s, \([0-9.]*\) MB\/s.*/\1 texts\/s \2 MB\/s/p' \
		    "$out/$name.cld2.eval")
		echo "bench langid: $name cld2    $(sed -n 's/^macro/macro/p' "$out/$name.cld2.txt"), $cld2_speed"
	fi
	sed -n 's/^kk->ru/kk->ru/p' "$out/$name.ours.txt" |
	    sed "s/^/bench langid: $name revpipe /"
	[ -z "$cld2" ] || sed -n 's/^kk->ru/kk->ru/p' "$out/$name.cld2.txt" |
	    sed "s/^/bench langid: $name cld2    /"
}

for l in ar el en fa kk ru tr; do
	"$top/testdata/corpus/split.sh" test "$l"
done > "$out/corpus-test.src.jsonl"
run corpus-test "$out/corpus-test.src.jsonl"
# The same rows with the labels corrected by reading (corrected-test.tsv).
jq -c --rawfile fix "$top/testdata/langid/corrected-test.tsv" '
    ($fix | split("\n") | map(select(length > 0 and (startswith("#") | not))
    | split("\t")) | map({(.[0]): .[2]}) | add) as $m
    | .lang = ($m[.id] // .lang)' "$out/corpus-test.src.jsonl" \
    > "$out/corrected-test.src.jsonl"
# --languages must never lose a text the full model gets right.
"$REVPIPE" langid-eval --languages ar,fa,kk,ru,el,en,tr \
    --predictions "$out/restricted.tsv" "$out/corpus-test.jsonl" \
    > "$out/restricted.eval"
paste "$out/corpus-test.ours.tsv" "$out/restricted.tsv" | awk -F '\t' '
    $1 == $2 { ok++; if ($7 != $6) lost++ } $6 == $7 { rok++ }
    END { printf "bench langid: corpus-test restricted to the 7 corpus " \
        "languages: %d right (full model %d), %d lost\n", rok, ok, lost }'
run corrected-test "$out/corrected-test.src.jsonl"
run udhr-snippets30 "$top/testdata/langid/udhr-snippets30.jsonl"

# The whole stage: msgpack in, msgpack out, ten copies of the test split.
for i in 1 2 3 4 5 6 7 8 9 10; do cat "$out/corpus-test.jsonl"; done \
    > "$out/stage.jsonl"
"$REVPIPE" cat --to-msgpack "$out/stage.jsonl" > "$out/stage.msgpack"
n=$(wc -l < "$out/stage.jsonl")
t0=$(date +%s.%N)
"$REVPIPE" langid -f < "$out/stage.msgpack" > /dev/null
t1=$(date +%s.%N)
echo "bench langid: stage $(echo "$n $t0 $t1" |
    awk '{ printf "%.0f records/s", $1 / ($3 - $2) }') ($n records, msgpack in and out)"
