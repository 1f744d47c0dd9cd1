#!/bin/bash
# bench/run.sh BUILD_DIR [-q] [smtp_inbound options...] - run every benchmark against the
# binaries of BUILD_DIR (build them first, Release: see bench/README.md):
#   1. BUILD_DIR/bench/disk_sync/disk_sync   durable file creations/s of this disk (if built)
#   2. BUILD_DIR/bench/sim_throughput/sim_throughput  simulated SMTP transactions/s (if built)
#   3. bench/smtp_inbound/run.sh             SMTP inbound, cloudsdial vs Postfix, same run
#   4. bench/tls_handshakes/run.sh           TLS handshakes/s, STARTTLS + AUTH CPU cost (if built)
#   5. bench/relay/run.sh                    relay A -> B msg/s and CPU, two cloudsdial vs two
#                                            Postfix; 100k deferred messages: RSS and restart
# -q is the quick mode of all (smoke test, noisy figures). Other options go to
# smtp_inbound/run.sh (e.g. -W 2.5 to wait for a quiet machine, -s for sync-call counts);
# RELAY_ARGS="..." are extra options for relay/run.sh.
# Exit status: 0 if every benchmark that ran succeeded.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
BUILD=$(realpath "$1"); shift
QUICK=0
for a in "$@"; do [ "$a" = -q ] && QUICK=1; done
status=0

DISK_SYNC=$BUILD/bench/disk_sync/disk_sync
if [ -x "$DISK_SYNC" ]; then
  echo "=== disk_sync ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "$QUICK" = 1 ]; then
    "$DISK_SYNC" --files 128 --rounds 1 || status=1
  else
    "$DISK_SYNC" || status=1
  fi
else
  echo "=== disk_sync: $DISK_SYNC not built, skipped"
fi

SIM=$BUILD/bench/sim_throughput/sim_throughput
if [ -x "$SIM" ]; then
  echo "=== sim_throughput ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$SIM" || status=1
else
  echo "=== sim_throughput: $SIM not built, skipped"
fi

BIN=$BUILD/app/cloudsdial
if [ -x "$BIN" ]; then
  echo
  echo "=== smtp_inbound ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$HERE/smtp_inbound/run.sh" "$@" "$BIN" || status=1
else
  echo "=== smtp_inbound: $BIN not built (cmake --build $BUILD --target cloudsdial)" >&2
  status=1
fi

TLS_CLIENT=$BUILD/bench/tls_handshakes/tls_handshakes
if [ -x "$TLS_CLIENT" ] && [ -x "$BIN" ]; then
  echo
  echo "=== tls_handshakes ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "$QUICK" = 1 ]; then
    "$HERE/tls_handshakes/run.sh" -q "$BUILD" || status=1
  else
    "$HERE/tls_handshakes/run.sh" "$BUILD" || status=1
  fi
else
  echo "=== tls_handshakes: $TLS_CLIENT not built, skipped"
fi

if [ -x "$BIN" ]; then
  echo
  echo "=== relay ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"
  relay_args=(${RELAY_ARGS:-})
  [ "$QUICK" = 1 ] && relay_args=(-q "${relay_args[@]}")
  "$HERE/relay/run.sh" "${relay_args[@]}" "$BIN" || status=1
fi
exit $status
