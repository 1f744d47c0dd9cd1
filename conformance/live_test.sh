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
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cat > "$tmp/cloudsdial.toml" <<CONF
[server]
hostname = "mx.example.test"
data_dir = "$tmp/var"
log_level = "warn"
shutdown_timeout = "2s"

[smtp]
listen = ["127.0.0.1:0"]
error_delay = "10ms"

[domains]
local = ["example.test"]

[[users]]
name = "demo"
aliases = ["postmaster"]
CONF
echo "conformance-pass-1" | "$bin" user add conformance --config "$tmp/cloudsdial.toml" > /dev/null
"$bin" serve --config "$tmp/cloudsdial.toml" > "$tmp/server.log" 2>&1 &
pid=$!
port=
i=0
while [ $i -lt 300 ]; do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log"; echo "server exited" >&2; exit 1; }
  sleep 0.1
  i=$((i + 1))
done
[ -n "$port" ] || { cat "$tmp/server.log"; echo "server did not listen" >&2; exit 1; }
status=0
"$bin" conformance --suite smtp --target "127.0.0.1:$port" --suite-dir "$dir" --quiet || status=$?
echo "--- again inside STARTTLS, with --user (AUTH cases)"
"$bin" conformance --suite smtp --target "127.0.0.1:$port" --suite-dir "$dir" --quiet --starttls \
  --user conformance --password conformance-pass-1 || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log" >&2; cat "$tmp/server.log" >&2; fi
exit "$status"
