#!/usr/bin/env bash
# ctest helpers for the simulator CLI (cloudsdial-sim, same arguments as `cloudsdial sim`).
#   sim_ctest.sh same-hash BIN ARGS...   run twice in two fresh processes; the digests must match
#   sim_ctest.sh caught BIN ARGS...      the run must exit 1 and report lost-after-ack
#   sim_ctest.sh usage-error BIN TEXT ARGS...   exit 2, nothing on stdout, and one line on
#                                        stderr that contains TEXT (a fixed string)
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
    # A here-string, not a pipe: grep -q stops at the first match, and under pipefail a
    # long report's echo would then die of SIGPIPE and fail the check.
    grep -q 'violation lost-after-ack' <<<"$out" || { echo "no lost-after-ack reported"; exit 1; }
    ;;
  usage-error)
    want=$1; shift
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    echo "$err"
    [ "$rc" -eq 2 ] || { echo "expected exit status 2, got $rc"; exit 1; }
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "expected one line on stderr"; exit 1; }
    printf '%s\n' "$err" | grep -qF -- "$want" || { echo "expected: $want"; exit 1; }
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
