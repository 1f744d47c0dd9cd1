#!/bin/sh
# Runs the SMTP conformance suite against the real `cloudsdial serve` on an ephemeral
# loopback port (ctest conformance_smtp_live): once in plaintext, once upgraded with
# STARTTLS and logged-in cases enabled (a user made with `cloudsdial user add`). Configures
# the target the suite expects (docs/CONFORMANCE.md): hostname mx.example.test, domain
# example.test, postmaster exists.
# usage: live_test.sh CLOUDSDIAL_BINARY SUITE_DIR
set -eu
bin=$1
dir=$2
. "$dir/target.sh"
target_tmpdir
target_config "$tmp/cloudsdial.toml" "$tmp/var"
echo "conformance-pass-1" | "$bin" user add conformance --config "$tmp/cloudsdial.toml" > /dev/null
if ! target_start "$bin" "$tmp/cloudsdial.toml" "$tmp/server.log"; then
  cat "$tmp/server.log"
  if kill -0 "$pid" 2>/dev/null; then echo "server did not listen" >&2; else echo "server exited" >&2; fi
  exit 1
fi
status=0
"$bin" conformance --suite smtp --target "127.0.0.1:$port" --suite-dir "$dir" --quiet || status=$?
echo "--- again inside STARTTLS, with --user (AUTH cases)"
"$bin" conformance --suite smtp --target "127.0.0.1:$port" --suite-dir "$dir" --quiet --starttls \
  --user conformance --password conformance-pass-1 || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log" >&2; cat "$tmp/server.log" >&2; fi
exit "$status"
