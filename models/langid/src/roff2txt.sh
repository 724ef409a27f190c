#!/bin/sh
# roff2txt.sh - crude text from man pages (gzip'd roff) on stdin: drops
# requests and escapes, keeps the prose, one paragraph-ish line per line.
sed -e '/^[.'"'"']/d' \
    -e 's/\\f\[[^]]*\]//g; s/\\f[A-Z1-4]//g; s/\\(..//g; s/\\\*(..//g' \
    -e 's/\\\*\[[^]]*\]//g; s/\\[-e&|^ ]/ /g; s/\\s[-+]\{0,1\}[0-9]//g' \
    -e 's/\\[a-zA-Z]//g; s/\\//g' |
awk 'length($0) > 20'
