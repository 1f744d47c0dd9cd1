#!/usr/bin/env bash
# `make fuzz-triage`: turns crash artefacts into regression seeds, without hand-work.
#  1. collect artefacts: the arguments (files or directories), else BUILD_DIR/artifacts/<t>/*
#     (make fuzz-run / fuzz-smoke) and BUILD_DIR/<t>-{crash,leak,timeout,oom}-*, BUILD_DIR/fuzz/<t>-...
#     (older smoke.sh runs); BUILD_DIR is build/fuzz;
#  2. find each one's target: the directory artifacts/<t>/, the name prefix <t>-crash-..., or
#     $TARGET (for libFuzzer's default names, crash-<sha1> in the current directory);
#  3. run it against BUILD_DIR/fuzz/<t> and read the report: the kind (ASan/UBSan/LSan error,
#     MAIL_ASSERT expression, deadly signal, timeout, OOM) and the top TRIAGE_FRAMES (default 3)
#     function names of the first stack, skipping sanitizer, libFuzzer, libc and assert frames;
#     a leak may show only when the input is run as a one-file corpus (-runs=0 DIR: libFuzzer's
#     own leak check), so that is tried when a plain run passes; artefacts that still pass are
#     listed as not reproduced and left alone;
#  4. dedupe: the signature is target + kind + top frames; one crash per signature, the
#     smallest artefact first;
#  5. minimise it: -minimize_crash=1 for TRIAGE_MINIMIZE_SECONDS (default 30); the result is
#     kept only if it still gives the same signature;
#  6. write fuzz/<t>/regressions/<12 hex of the signature's SHA-1> (an existing file of that name,
#     a crash triaged before, is kept). `make test` replays regressions/ (fuzz_<t>_seeds), and so
#     do fuzz-run and fuzz-smoke, so the test fails until the bug is fixed;
#  7. print the report: distinct crashes, their top frames, the files written.
# Artefacts are not deleted. Environment: FUZZ_BUILD_DIR (default build/fuzz), TARGET,
# TRIAGE_FRAMES, TRIAGE_MINIMIZE_SECONDS, FUZZ_DIR (where <t>/regressions go; default this dir).
# usage: triage.sh [ARTEFACT|DIR...]
set -euo pipefail
source "$(dirname "$0")/common.sh"
build=${FUZZ_BUILD_DIR:-build/fuzz}
fuzz_dir=${FUZZ_DIR:-$FUZZ_HERE}
frames_n=${TRIAGE_FRAMES:-3}
min_secs=${TRIAGE_MINIMIZE_SECONDS:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- 1. collect
shopt -s nullglob
artefacts=()
add() { local f; for f in "$@"; do [ -f "$f" ] && [ -s "$f" ] && artefacts+=("$f"); done; return 0; }
if [ $# -gt 0 ]; then
  for a in "$@"; do
    if [ -d "$a" ]; then while IFS= read -r f; do add "$f"; done < <(find "$a" -type f | sort); else add "$a"; fi
  done
else
  add "$build"/artifacts/*/{crash,leak,timeout,oom}-*
  add "$build"/*-{crash,leak,timeout,oom}-* "$build"/fuzz/*-{crash,leak,timeout,oom}-*  # older smoke.sh
fi
if [ ${#artefacts[@]} -eq 0 ]; then echo "fuzz-triage: no crash artefacts (looked in $build/artifacts/, $build/*-crash-* and $build/fuzz/*-crash-*)"; exit 0; fi

# --- 2. target of an artefact
target_of() {
  local f=$1 dir base
  dir=$(basename "$(dirname "$f")") base=$(basename "$f")
  if [ "$(basename "$(dirname "$(dirname "$f")")")" = artifacts ] && [ -x "$build/fuzz/$dir" ]; then echo "$dir"; return; fi
  if [[ $base =~ ^(.+)-(crash|leak|timeout|oom)- ]] && [ -x "$build/fuzz/${BASH_REMATCH[1]}" ]; then
    echo "${BASH_REMATCH[1]}"; return
  fi
  echo "${TARGET:-}"
}

# --- 3. signature: first line "kind", then one line per top frame
signature() {  # target file out-prefix -> writes out.log and out.sig; status 1 if no failure
  local name=$1 file=$2 out=$3
  fuzz_args "$name"
  if "$build/fuzz/$name" "${FUZZ_ARGS[@]}" "$file" > "$out.log" 2>&1; then
    # A leak may show only in libFuzzer's corpus mode (its own leak check after each input),
    # not at the exit of a single-file run: retry with the artefact as a one-file corpus.
    mkdir -p "$out.in"; cp "$file" "$out.in/"
    if "$build/fuzz/$name" "${FUZZ_ARGS[@]}" -runs=0 -artifact_prefix="$out.artefact-" "$out.in" \
        > "$out.log" 2>&1; then return 1; fi
  fi
  awk -v n="$frames_n" '
    function kind_of(line) {
      if (match(line, /assertion failed: .* at /)) return substr(line, RSTART, RLENGTH - 4)
      if (match(line, /ERROR: (AddressSanitizer|MemorySanitizer): [A-Za-z-]+/))
        return substr(line, RSTART + 7, RLENGTH - 7)
      if (line ~ /ERROR: LeakSanitizer: detected memory leaks/) return "LeakSanitizer: memory leak"
      if (match(line, /runtime error: [^0-9]*/)) {
        k = substr(line, RSTART + 15, RLENGTH - 15); sub(/[: ]+$/, "", k); return "UBSan: " k
      }
      if (line ~ /ALARM: working on the last Unit/) return "timeout"
      if (line ~ /ERROR: libFuzzer: out-of-memory/) return "out-of-memory"
      if (match(line, /ERROR: libFuzzer: [a-z -]+/)) return substr(line, RSTART + 7, RLENGTH - 7)
      return ""
    }
    kind == "" { k = kind_of($0); if (k != "") kind = k }
    /^ *#[0-9]+ 0x[0-9a-f]+ in / && !done {
      started = 1
      f = $0; sub(/^ *#[0-9]+ 0x[0-9a-f]+ in /, "", f)
      # drop " (BuildId: ...)", then " path/file.cpp:line:col" or " (module+0x...)"
      sub(/ \(BuildId: [0-9a-f]+\)$/, "", f)
      sub(/ [^ ]+:[0-9]+(:[0-9]+)?$/, "", f); sub(/ \([^ ]*\+0x[0-9a-f]+\)$/, "", f)
      if (f ~ /^(__sanitizer|__asan|__ubsan|__lsan|__interceptor|__GI_|__libc_|__pthread_kill|pthread_kill|gsignal|raise$|abort$|malloc$|calloc$|realloc$|free$|fuzzer::|mail::assert_fail|operator new|operator delete|_start$|main$)/) next
      if (got < n) { frames[got++] = f }
      next
    }
    started && !/^ *#[0-9]+ / { done = 1 }
    END {
      if (kind == "") kind = "unknown failure"
      print kind
      for (i = 0; i < got; i++) print frames[i]
    }' "$out.log" > "$out.sig"
  return 0
}

# --- run every artefact
declare -A sig_file sig_target sig_count sig_text
order=()
not_repro=() no_target=()
i=0
for f in "${artefacts[@]}"; do
  i=$((i + 1))
  name=$(target_of "$f")
  if [ -z "$name" ] || [ ! -x "$build/fuzz/$name" ]; then no_target+=("$f"); continue; fi
  if ! signature "$name" "$f" "$work/a$i"; then not_repro+=("$f"); continue; fi
  key=$( { echo "$name"; cat "$work/a$i.sig"; } | sha1sum | cut -c1-12)
  if [ -z "${sig_file[$key]:-}" ]; then
    order+=("$key"); sig_file[$key]=$f; sig_target[$key]=$name; sig_count[$key]=0
    sig_text[$key]=$(cat "$work/a$i.sig")
  elif [ "$(stat -c %s "$f")" -lt "$(stat -c %s "${sig_file[$key]}")" ]; then
    sig_file[$key]=$f  # --- 4. the smallest artefact of a signature is the one minimised
  fi
  sig_count[$key]=$((sig_count[$key] + 1))
done

echo "fuzz-triage: ${#artefacts[@]} artefact(s), ${#order[@]} distinct crash(es)," \
     "${#not_repro[@]} not reproduced, ${#no_target[@]} without a known target"
k=0
for key in "${order[@]}"; do
  k=$((k + 1))
  name=${sig_target[$key]} f=${sig_file[$key]}
  dest="$fuzz_dir/$name/regressions/$key"
  size=$(stat -c %s "$f")
  echo
  echo "[$k] $name $key: $(head -n 1 <<< "${sig_text[$key]}") (${sig_count[$key]} artefact(s))"
  tail -n +2 <<< "${sig_text[$key]}" | awk '{ printf "      #%d %s\n", NR - 1, $0 }'
  if [ -e "$dest" ]; then echo "    known: $dest exists (kept)"; continue; fi
  # --- 5. minimise, keep only if the signature holds
  best=$f
  fuzz_args "$name"
  "$build/fuzz/$name" "${FUZZ_ARGS[@]}" -minimize_crash=1 -max_total_time="$min_secs" \
    -exact_artifact_path="$work/min-$key" "$f" > "$work/min-$key.log" 2>&1 || true
  if [ -s "$work/min-$key" ] && signature "$name" "$work/min-$key" "$work/m-$key" &&
     cmp -s "$work/m-$key.sig" <(echo "${sig_text[$key]}"); then
    best="$work/min-$key"
  fi
  mkdir -p "$(dirname "$dest")"
  cp "$best" "$dest"
  echo "    minimised $size -> $(stat -c %s "$dest") bytes; wrote $dest (from $f)"
done
for f in "${not_repro[@]}"; do echo "not reproduced: $f"; done
for f in "${no_target[@]}"; do echo "no target (set TARGET=): $f"; done
exit 0
