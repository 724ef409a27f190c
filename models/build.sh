#!/bin/sh
# build.sh REVPIPE - `make models`: rebuild every model from its sources by
# running models/<stage>/build.sh REVPIPE in turn.  Each stage's README.md
# says what its script installs and reads, and the exact command.
set -eu
[ $# -eq 1 ] || { echo "usage: models/build.sh REVPIPE" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
REVPIPE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
export REVPIPE
for s in "$top"/models/*/build.sh; do
	echo "models: $(basename "$(dirname "$s")")"
	sh "$s" "$REVPIPE"
done
echo "models: done; 'make' embeds the new files, 'git diff --stat models/' shows what changed"
