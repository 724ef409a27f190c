#!/bin/sh
# golden.sh - run the data-driven tests under testdata/.
#
# usage: tests/golden.sh [--update] REVPIPE [CASE_DIR...]
#
# A case is a folder testdata/<stage>/<case>/ holding:
#   args                  extra arguments for `revpipe <stage>` (optional);
#                         one line, split by the shell, run in a scratch copy
#                         of the case folder, so it may name files there
#   in.jsonl              stdin, packed to msgpack with `revpipe cat --to-msgpack`
#   in.msgpack            stdin as raw bytes (instead of in.jsonl)
#   expect.jsonl          stdout, shown through `revpipe cat`
#   expect.rejects.jsonl  the reject stream (--rejects), through `revpipe cat`;
#                         absent = must be empty
#   expect.stderr         stderr; absent = must be empty
#   expect.exit           exit status; absent = 0
#   cmd                   instead of the above: a sh script run in the scratch
#                         copy with $REVPIPE set; its stdout is compared to
#                         expect.out, stderr and exit as above
# `revpipe <stage>` runs with -f (stdout is never a terminal here anyway).
# Ends with "N passed, N failed" and exits 1 when any case failed.
set -u
update=0
if [ "${1-}" = "--update" ]; then update=1; shift; fi
[ $# -ge 1 ] || { echo "usage: tests/golden.sh [--update] REVPIPE [CASE...]" >&2; exit 2; }
REVPIPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
export REVPIPE
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 0 ]; then
	set -- $(find "$top/testdata" -mindepth 2 -maxdepth 2 -type d \
	    \( -exec test -e '{}/expect.jsonl' \; -o -exec test -e '{}/cmd' \; \) \
	    -print | LC_ALL=C sort)
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/revpipe-golden.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
pass=0 fail=0

# compare NAME EXPECTED_FILE ACTUAL_FILE: diff, or rewrite under --update
compare() {
	if [ -f "$2" ] || [ -s "$3" ]; then
		if [ $update = 1 ]; then
			if [ -s "$3" ] || [ "$1" = stdout ]; then cp "$3" "$2"
			else rm -f "$2"; fi
			return 0
		fi
		[ -f "$2" ] || { echo "  unexpected $1:"; sed 's/^/    /' "$3" | head -20; return 1; }
		diff -u "$2" "$3" >"$scratch/diff" 2>&1 || {
			echo "  $1 differs:"; head -40 "$scratch/diff" | sed 's/^/    /'; return 1; }
	fi
	return 0
}

for dir in "$@"; do
	dir=$(cd "$dir" && pwd)
	stage=$(basename "$(dirname "$dir")")
	name=$stage/$(basename "$dir")
	work=$scratch/work
	rm -rf "$work"; cp -r "$dir" "$work"
	ok=1
	(
		cd "$work" || exit 99
		if [ -f cmd ]; then
			sh ./cmd >out.actual 2>err.actual
			echo $? >exit.actual
			exit 0
		fi
		if [ -f in.msgpack ]; then cp in.msgpack stdin.bin
		elif [ -f in.jsonl ]; then
			"$REVPIPE" cat --to-msgpack in.jsonl >stdin.bin || exit 98
		else : >stdin.bin; fi
		args=; [ -f args ] && args=$(cat args)
		# shellcheck disable=SC2086
		"$REVPIPE" "$stage" -f --rejects rejects.msgpack $args \
		    <stdin.bin >out.msgpack 2>err.actual
		echo $? >exit.actual
		"$REVPIPE" cat out.msgpack >out.actual 2>>err.cat || exit 97
		if [ -s rejects.msgpack ]; then
			"$REVPIPE" cat rejects.msgpack >rejects.actual 2>>err.cat || exit 97
		else : >rejects.actual; fi
	)
	st=$?
	if [ $st -ne 0 ]; then
		echo "FAIL $name: harness step failed ($st)"; cat "$work/err.cat" 2>/dev/null
		fail=$((fail + 1)); continue
	fi
	if [ -f "$dir/cmd" ]; then
		compare stdout "$dir/expect.out" "$work/out.actual" || ok=0
	else
		compare stdout "$dir/expect.jsonl" "$work/out.actual" || ok=0
		compare rejects "$dir/expect.rejects.jsonl" "$work/rejects.actual" || ok=0
	fi
	compare stderr "$dir/expect.stderr" "$work/err.actual" || ok=0
	want=0; [ -f "$dir/expect.exit" ] && want=$(cat "$dir/expect.exit")
	got=$(cat "$work/exit.actual")
	if [ "$got" != "$want" ]; then
		if [ $update = 1 ]; then
			if [ "$got" = 0 ]; then rm -f "$dir/expect.exit"
			else echo "$got" >"$dir/expect.exit"; fi
		else
			echo "  exit status $got, expected $want"; ok=0
		fi
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1))
	else echo "FAIL $name"; fail=$((fail + 1)); fi
done
echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
