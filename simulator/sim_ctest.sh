#!/usr/bin/env bash
# ctest helpers for the simulator CLI (cloudsdial-sim, same arguments as `cloudsdial sim`).
#   sim_ctest.sh same-hash BIN ARGS...   run twice in two fresh processes; the digests must match
#   sim_ctest.sh caught BIN ARGS...      the run must exit 1 and report lost-after-ack
set -uo pipefail
mode=$1; bin=$2; shift 2
digest() { sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p; s/.* hash=\([0-9a-f]*\) .*/\1/p' | tail -1; }
case "$mode" in
  same-hash)
    a=$("$bin" "$@" | digest) || exit 1
    b=$("$bin" "$@" | digest) || exit 1
    echo "first=$a second=$b"
    [ -n "$a" ] && [ "$a" = "$b" ]
    ;;
  caught)
    out=$("$bin" "$@"); rc=$?
    echo "$out" | grep -v '^  \(violation\|warning\)' | head -20
    [ "$rc" -eq 1 ] || { echo "expected exit status 1, got $rc"; exit 1; }
    echo "$out" | grep -q 'violation lost-after-ack' || { echo "no lost-after-ack reported"; exit 1; }
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
