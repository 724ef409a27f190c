#!/bin/bash
# slurm-e2e.sh - `revpipe slurm` on a throw-away cluster equals `revpipe run`.
#
#   tests/slurm-e2e.sh [REVPIPE]        (default ./revpipe; run as root)
#
# Makes 6 shards (.jsonl.gz) from testdata/corpus with sellers, buyers,
# exact copies across shards, near copies and a template, then:
#   1. revpipe run over them (the reference);
#   2. starts tests/slurm-local.sh, submits the same inputs with P=4 and
#      waits: reviews (sorted JSON Lines through revpipe cat), replies.csv
#      (sorted rows) and stats.json must equal the reference;
#   3. the same with --local (no Slurm);
#   4. a truncated shard must fail the run visibly (non-zero exit, the
#      failed task named) with no job left pending;
#   5. --resume after the shard is repaired finishes the run.
# The cluster is always stopped (trap).  The whole test is bounded by
# SLURM_E2E_TIMEOUT seconds (default 300).  Exit 0 passed, 1 failed,
# 77 skipped (not root, or Slurm cannot be installed).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SLURM_E2E_INNER:-}" ]; then
	export SLURM_E2E_INNER=1
	exec timeout -k 40 "${SLURM_E2E_TIMEOUT:-300}" "$0" "$@"
fi
REVPIPE=$(realpath "${1:-$TOP/revpipe}")
LOCAL=$TOP/tests/slurm-local.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "slurm-e2e: skipped (needs root for the local cluster)"
	exit 77
fi
T=$(mktemp -d /tmp/revpipe-slurm-e2e.XXXXXX)
chmod 755 "$T"			# munged wants its socket path searchable
export SLURM_LOCAL_DIR=$T/cluster
export SLURM_CONF=$T/cluster/etc/slurm.conf
started=
cleanup() {
	rc=$?
	[ -z "$started" ] || "$LOCAL" stop || rc=1
	if [ $rc -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "slurm-e2e: files kept in $T" >&2
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 143' TERM INT

fail() { echo "slurm-e2e: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; }

cd "$T"
mkdir in
python3 - "$TOP/testdata/corpus" in 6 <<'EOF'
import gzip, json, random, sys
corpus, out, nshards = sys.argv[1], sys.argv[2], int(sys.argv[3])
rnd = random.Random(9)
rows = []
for lang in ("en", "ru", "ar", "kk", "el"):
    with gzip.open(f"{corpus}/reviews.{lang}.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i >= 120:
                break
            j = json.loads(line)
            rows.append({"id": f"{lang}{i}", "text": j["text"],
                         "rating": j.get("rating"),
                         "seller": f"s{rnd.randrange(12)}",
                         "buyer": f"b{rnd.randrange(200)}",
                         "created_at": 1700000000 + rnd.randrange(86400 * 30)})
extra = []
for k in range(60):                     # exact copies, often in other shards
    r = dict(rnd.choice(rows)); r["id"] += "x%d" % k; extra.append(r)
for k in range(30):                     # near copies
    r = dict(rnd.choice(rows)); r["id"] += "n%d" % k
    r["text"] = r["text"].upper() + " !!"; extra.append(r)
for k in range(8):                      # one text from many buyers
    extra.append({"id": f"t{k}", "rating": 5, "seller": "s3",
                  "buyer": f"tb{k}", "created_at": 1700000000 + k,
                  "text": "Excellent seller, highly recommended, will order again for sure"})
allr = rows + extra
rnd.shuffle(allr)
n = len(allr)
for s in range(nshards):
    with gzip.open(f"{out}/shard-{s:02d}.jsonl.gz", "wt") as f:
        for r in allr[s * n // nshards:(s + 1) * n // nshards]:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
EOF

# The same outputs, ignoring record order and timings.
same() {
	local a=$1 b=$2 what=$3
	"$REVPIPE" cat < "$a/reviews.msgpack" | LC_ALL=C sort > "$T/ra"
	"$REVPIPE" cat < "$b/reviews.msgpack" | LC_ALL=C sort > "$T/rb"
	[ -s "$T/ra" ] || fail "$what: no reviews"
	cmp -s "$T/ra" "$T/rb" || { diff "$T/ra" "$T/rb" | head -5 >&2
	    fail "$what: reviews differ from revpipe run"; }
	cmp -s <(LC_ALL=C sort "$a/replies.csv") <(LC_ALL=C sort "$b/replies.csv") ||
	    fail "$what: replies.csv differs from revpipe run"
	cmp -s <(jq -S . "$a/stats.json") <(jq -S . "$b/stats.json") ||
	    fail "$what: stats.json differs from revpipe run"
	cmp -s "$a/reviews.msgpack" "$b/reviews.msgpack" &&
	    order="byte-identical, same order" || order="same records"
	echo "slurm-e2e: $what: reviews ($(wc -l < "$T/ra")), replies and stats equal revpipe run ($order)"
}

t=$(now)
"$REVPIPE" run -q -o single in/*.jsonl.gz
t_run=$(since "$t")

t=$(now)
started=1			# stop whatever start managed to start
if ! "$LOCAL" start; then
	dpkg-query -W slurmctld >/dev/null 2>&1 || {
		echo "slurm-e2e: skipped (Slurm could not be installed)"; exit 77; }
	fail "the local cluster did not start"
fi
t_start=$(since "$t")

t=$(now)
"$REVPIPE" slurm submit -q --run slurm --parts 4 --wait --timeout 200 \
    in/*.jsonl.gz || fail "slurm run failed (see $T/slurm/logs)"
t_slurm=$(since "$t")
same single slurm/out "slurm P=4"
grep -q '"ok": true, "shuffle_ok": true' slurm/out/manifest.json ||
    fail "slurm: accounting check in manifest.json"
"$REVPIPE" slurm status --run slurm > status.txt ||
    fail "slurm status of a finished run"
grep -q 'merge   1/1 done' status.txt || fail "slurm status: $(cat status.txt)"

t=$(now)
"$REVPIPE" slurm submit -q --local --run local --parts 4 in/*.jsonl.gz ||
    fail "local run failed (see $T/local/logs)"
t_local=$(since "$t")
same single local/out "local P=4"

# A shard that cannot be read fails the run, visibly and without hanging.
mkdir bad
cp in/*.jsonl.gz bad/
head -c 2000 in/shard-02.jsonl.gz > bad/shard-02.jsonl.gz
t=$(now)
if "$REVPIPE" slurm submit --run failing --parts 4 --wait --timeout 120 \
    bad/*.jsonl.gz 2> fail.err; then
	fail "a truncated shard did not fail the run"
fi
t_fail=$(since "$t")
grep -q 'map task 2 failed' fail.err || fail "the failed task is not named: $(cat fail.err)"
[ ! -e failing/out/manifest.json ] || fail "a failed run published outputs"
[ -z "$(squeue -h)" ] || fail "jobs left in the queue: $(squeue -h)"
"$REVPIPE" slurm status --run failing > status.txt && fail "status of a failed run exits 0"
echo "slurm-e2e: a truncated shard failed the run in ${t_fail}s, nothing left queued"

# Repaired, --resume runs only what is missing.
cp in/shard-02.jsonl.gz bad/
"$REVPIPE" slurm submit -q --run failing --resume --wait --timeout 120 ||
    fail "--resume after the repair"
[ "$(ls failing/logs | grep -c '^map-')" -eq 7 ] ||
    fail "--resume did not rerun only map task 2: $(ls failing/logs)"
"$REVPIPE" run -q -o single-bad bad/*.jsonl.gz
same single-bad failing/out "resumed"

echo "slurm-e2e: times: revpipe run ${t_run}s; cluster start ${t_start}s;" \
    "slurm submit-to-done ${t_slurm}s; --local ${t_local}s"
echo "slurm-e2e: passed"
