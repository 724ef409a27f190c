#!/bin/sh
# situations.sh - are the five freelance situations recognised and answered?
#
# usage: tests/situations.sh REVPIPE CASES [MIN_TOPIC MIN_FACT [MIN_LANG]]
#
# CASES is a JSON-lines file of reviews (testdata/situations/cases.jsonl)
# that also carry what they must give:
#   expect_lang        the language langid must find
#   expect_situation   cancel_unasked early_delivery no_answer extra_ask late
#   expect_topics      classify must give at least one of these topics
# The reviews go through decode | langid | classify | reply.  A case hits
# "topic" when one expected topic is among `topics`, "fact" when
# reply.template holds the situation's fact.SITUATION variant, "lang"
# when `lang` is the expected one.  Prints a table per language, then
# every case that missed something, then the totals; exits 1 when fewer
# cases than MIN_TOPIC / MIN_FACT / MIN_LANG hit (default: all of them),
# 2 on a usage error or when the pipeline fails.
set -u
[ $# -eq 2 ] || [ $# -eq 4 ] || [ $# -eq 5 ] || {
	echo "usage: tests/situations.sh REVPIPE CASES [MIN_TOPIC MIN_FACT [MIN_LANG]]" >&2
	exit 2
}
R=$1 cases=$2
[ -f "$cases" ] || { echo "situations: no file '$cases'" >&2; exit 2; }
total=$(grep -c . "$cases")
min_topic=${3-$total} min_fact=${4-$total} min_lang=${5-$total}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-situations.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM

# No pipefail in POSIX sh: each stage's stderr is kept, and a short
# output is the failure.
"$R" decode "$cases" 2>"$scratch/err.decode" | "$R" langid 2>"$scratch/err.langid" |
    "$R" classify 2>"$scratch/err.classify" | "$R" reply 2>"$scratch/err.reply" |
    "$R" cat >"$scratch/out.jsonl" 2>"$scratch/err.cat"
if [ "$(grep -c . "$scratch/out.jsonl")" -ne "$total" ]; then
	echo "situations: the pipeline wrote $(grep -c . "$scratch/out.jsonl") of $total records:" >&2
	cat "$scratch"/err.* >&2
	exit 2
fi

jq -n -r --slurpfile want "$cases" --slurpfile got "$scratch/out.jsonl" \
    --argjson mt "$min_topic" --argjson mf "$min_fact" \
    --argjson ml "$min_lang" '
	def pct(a; b): if b == 0 then "-" else "\(a * 100 / b | floor)%" end;
	(reduce $got[] as $r ({}; .[$r.id] = $r)) as $G |
	[ $want[] | . as $w | ($G[$w.id] // {}) as $r | {
		id: $w.id, lang: $w.expect_lang, sit: $w.expect_situation,
		lang_ok: ($r.lang == $w.expect_lang),
		topic_ok: ([$w.expect_topics[] | IN(($r.topics // [])[])]
		    | any),
		fact_ok: ([($r.reply.template // [])[] |
		    test("/fact\\." + $w.expect_situation + "\\.")] | any),
		topics: ($r.topics // []),
		said: ([($r.reply.template // [])[] |
		    select(test("/(fact|ack|remedy)\\.")) | sub("^[a-z]+/"; "")]
		    | join(" ")),
		missing: ($r == {})
	} ] as $c |
	"lang  cases  topic  fact  lang_ok",
	($c | group_by(.lang)[] | "\(.[0].lang)    \(length | tostring
	    | .+"     "|.[0:5])  \(map(select(.topic_ok)) | length | tostring
	    | .+"     "|.[0:5])  \(map(select(.fact_ok)) | length | tostring
	    | .+"    "|.[0:4])  \(map(select(.lang_ok)) | length)"),
	"",
	"situation       cases  topic  fact",
	($c | group_by(.sit)[] | "\(.[0].sit | .+"               "|.[0:15]) \(length
	    | tostring | .+"     "|.[0:5])  \(map(select(.topic_ok)) | length
	    | tostring | .+"     "|.[0:5])  \(map(select(.fact_ok)) | length)"),
	"",
	($c[] | select((.lang_ok and .topic_ok and .fact_ok) | not) |
	    if .missing then "MISS \(.id): no output record"
	    else "MISS \(.id):\(if .lang_ok then "" else " lang" end)\(
	        if .topic_ok then "" else " topic \(.topics)" end)\(
	        if .fact_ok then "" else " fact" end) [\(.said)]" end),
	($c | length) as $n |
	($c | map(select(.topic_ok)) | length) as $t |
	($c | map(select(.fact_ok)) | length) as $f |
	($c | map(select(.lang_ok)) | length) as $l |
	"situations: \($n) cases: topic \($t) (\(pct($t; $n))), fact \($f) (\(pct($f; $n))), lang \($l) (\(pct($l; $n))); need topic \($mt), fact \($mf), lang \($ml)",
	if $t >= $mt and $f >= $mf and $l >= $ml then "situations: ok"
	else "situations: FAILED" end
' >"$scratch/report" || { echo "situations: jq failed" >&2; exit 2; }
cat "$scratch/report"
tail -n 1 "$scratch/report" | grep -q '^situations: ok$'
