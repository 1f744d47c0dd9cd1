#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script (docs/FUZZING.md, "CI recipe"). Runs inside the
# builder image (.clusterfuzzlite/Dockerfile) or by hand, with the OSS-Fuzz environment:
#   CC CXX CFLAGS CXXFLAGS   compilers and flags; the sanitizer (address, undefined or the
#                            coverage build's profile flags) comes from CFLAGS/CXXFLAGS
#   LIB_FUZZING_ENGINE       linked into every target instead of -fsanitize=fuzzer
#   OUT                      where the fuzz binaries and their files go
#   SRC, WORK                the source checkout's parent and a scratch directory
# Builds every target of fuzz/CMakeLists.txt (CMake target `fuzzers`) and writes into $OUT,
# per target t: t, t_seed_corpus.zip (fuzz/t/seeds + fuzz/t/regressions), t.dict, t.options.
# Must not: add sanitizer flags of its own, use -Werror (the builder's clang is newer than the
# clang-14 that `make fuzz` checks warnings with), or build tests and benchmarks.
root=${MAIL_SRC:-$PWD}  # the Dockerfile's WORKDIR is the checkout
[ -f "$root/fuzz/CMakeLists.txt" ] || root=$SRC/cloudsdial
work=${WORK:-/tmp/work}/cloudsdial-build
mkdir -p "$OUT" "$work"

# Boost.JSON and the other libraries come from apt, built against libstdc++: the OSS-Fuzz
# default -stdlib=libc++ would not link with them (MSan, which needs an instrumented libc++,
# is therefore not offered: project.yaml lists address and undefined only).
CXXFLAGS=${CXXFLAGS//-stdlib=libc++/}
export CXXFLAGS

# The webmail files that server/node embeds (DOMPurify) come from npm; the Dockerfile runs
# `npm ci`, this covers a by-hand run in a fresh clone.
if [ ! -f "$root/node_modules/dompurify/dist/purify.min.js" ]; then
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S "$root" -B "$work" -G Ninja \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE= \
  -DMAIL_FUZZ=ON -DMAIL_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DMAIL_BUILD_TESTS=OFF -DMAIL_BUILD_BENCH=OFF -DMAIL_WERROR=OFF
cmake --build "$work" -j "$(nproc)" --target fuzzers

# One line per target in fuzz/CMakeLists.txt; the binaries are the executables in fuzz/.
count=0
for bin in "$work"/fuzz/*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  t=$(basename "$bin")
  cp "$bin" "$OUT/$t"
  rm -f "$OUT/${t}_seed_corpus.zip"
  inputs=()
  for d in seeds regressions; do
    if [ -d "$root/fuzz/$t/$d" ]; then inputs+=("$d"); fi
  done
  if [ ${#inputs[@]} -gt 0 ]; then
    (cd "$root/fuzz/$t" && find "${inputs[@]}" -type f -print | zip -q -j -@ "$OUT/${t}_seed_corpus.zip")
  fi
  if [ -f "$root/fuzz/$t/$t.dict" ]; then
    cp "$root/fuzz/$t/$t.dict" "$OUT/$t.dict"
    dict_line="dict = $t.dict"
  else
    dict_line=""
  fi
  # Same limits as fuzz/common.sh (make fuzz-run / fuzz-smoke).
  printf '[libfuzzer]\nmax_len = 65536\nrss_limit_mb = 2048\ntimeout = 10\n%s\n' "$dict_line" > "$OUT/$t.options"
  count=$((count + 1))
done
echo "build.sh: $count fuzz targets in $OUT"
[ "$count" -gt 0 ]
