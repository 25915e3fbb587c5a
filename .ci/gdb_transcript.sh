#!/usr/bin/env bash
# Replays one of chapter 02's gdb sessions (tutorials/examples/EXAMPLE.gdb, on the debug build of
# that example) and checks that every line of the chapter's transcript is what gdb printed, in that
# order: commands ("(gdb) X" in the chapter) are matched against gdb's trace ("+X"), and addresses
# are ignored. gdb prints more than the chapter shows (notices, source lines); those lines may be
# skipped, none may differ.
#   .ci/gdb_transcript.sh [EXAMPLE]      (default 02_autograd; also 07_language_model)
set -euo pipefail
cd "$(dirname "$0")/.."
chapter=tutorials/02-autograd.md
example=${1:-02_autograd}
gdb -q -batch -x "tutorials/examples/$example.gdb" "build/debug/tutorials/$example" > build/gdb_replay.txt 2>&1
awk -v start="\$ gdb -q build/debug/tutorials/$example" '$0 == start { on = 1; next } on && /^```$/ { exit } on' \
    "$chapter" > build/gdb_chapter.txt
[ -s build/gdb_chapter.txt ] || { echo "$chapter: no gdb transcript found"; exit 1; }
normalize() { sed -E 's/0x[0-9a-f]+/0x_/g; s/^\(gdb\) /+/; s/[[:space:]]+$//' "$1"; }
normalize build/gdb_replay.txt > build/gdb_replay.norm
normalize build/gdb_chapter.txt > build/gdb_chapter.norm
awk 'NR == FNR { got[++n] = $0; next }
     { while (i < n && got[i + 1] != $0) i++
       if (i == n) { printf "%s: this line of the gdb session is not what gdb prints (or not in this order):\n  %s\n", chapter, $0; bad = 1; exit 1 }
       i++ }
     END { if (!bad) printf "gdb session: all %d lines of the chapter match\n", FNR }' \
    chapter="$chapter" build/gdb_replay.norm build/gdb_chapter.norm
