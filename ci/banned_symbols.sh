#!/usr/bin/env bash
# Layering check (DESIGN.md invariants): the sans-IO and Env-only layers must not read
# clocks, draw OS randomness, read the environment or include Asio/Beast.
# usage: banned_symbols.sh REPO_ROOT   — exits 1 and prints each offending line.
set -uo pipefail
root=${1:-.}
dirs=(server/proto server/node server/store server/runtime server/core server/tls)
patterns=(
  'std::chrono::(system_clock|steady_clock|high_resolution_clock)'
  '\b(system_clock|steady_clock|high_resolution_clock)::now'
  '\bclock_gettime\s*\('
  '\bgettimeofday\s*\('
  '[^_a-zA-Z]time\s*\(\s*(nullptr|NULL|0)?\s*\)'
  'random_device'
  '[^_a-zA-Z.>:]s?rand\s*\('
  '\bgetenv\s*\('
  '#\s*include\s*[<"]boost/(asio|beast)'
  '#\s*include\s*[<"](asio|beast)'
)
status=0
for d in "${dirs[@]}"; do
  [ -d "$root/$d" ] || continue
  for p in "${patterns[@]}"; do
    # Comments are allowed to name the banned things; strip // comments before matching.
    hits=$(grep -rnE --include='*.h' --include='*.cpp' "$p" "$root/$d" 2>/dev/null |
           grep -vE '^[^:]+:[0-9]+:\s*//' | sed -E 's#//.*$##' | grep -E "$p" || true)
    if [ -n "$hits" ]; then
      echo "banned pattern '$p':"; echo "$hits"; status=1
    fi
  done
done
# server/http may include Beast (its parser, in server_session.cpp only) but is sans-IO all
# the same: no clocks, no OS randomness, no environment.
for p in "${patterns[@]:0:8}"; do
  [ -d "$root/server/http" ] || continue
  hits=$(grep -rnE --include='*.h' --include='*.cpp' "$p" "$root/server/http" 2>/dev/null |
         grep -vE '^[^:]+:[0-9]+:\s*//' | sed -E 's#//.*$##' | grep -E "$p" || true)
  if [ -n "$hits" ]; then
    echo "banned pattern '$p':"; echo "$hits"; status=1
  fi
done
# Upward and sideways includes that CMake linking cannot catch (every layer shares one
# include root): core includes only core; tls and proto, siblings over core, not each other.
# Tests and test helpers may reach across (proto's SASL tests hash with tls::OpenSslCrypto).
declare -A upward=(
  [server/core]='#\s*include\s*"(proto|tls|runtime|store|node|io|app)/'
  [server/tls]='#\s*include\s*"(proto|runtime|store|node|io|app)/'
  [server/proto]='#\s*include\s*"(tls|runtime|store|node|io|app)/'
  [server/http]='#\s*include\s*"(tls|runtime|store|node|io|app)/'
)
for d in "${!upward[@]}"; do
  [ -d "$root/$d" ] || continue
  p=${upward[$d]}
  hits=$(grep -rnE --include='*.h' --include='*.cpp' "$p" "$root/$d" 2>/dev/null |
         grep -vE '(_test\.cpp|/test_support\.h):' || true)
  if [ -n "$hits" ]; then
    echo "layering: $d must not include '$p':"; echo "$hits"; status=1
  fi
done
# The server is a library: the CLI (app/) sits above it with the simulator and the
# conformance runner, and nothing under server/ reaches up to any of them.
hits=$(grep -rnE --include='*.h' --include='*.cpp' '#\s*include\s*"(simulator|conformance|app)/' "$root/server" 2>/dev/null || true)
if [ -n "$hits" ]; then
  echo "layering: server/ must not include simulator/, conformance/ or app/:"; echo "$hits"; status=1
fi
[ $status -eq 0 ] && echo "banned_symbols: clean (${dirs[*]} server/http)"
exit $status
