#!/bin/sh
# Runs the IMAP conformance suite against the real `cloudsdial serve` on ephemeral loopback
# ports (ctest conformance_imap_live): once in plaintext (LOGIN allowed on loopback), once
# on the implicit-TLS port (RFC 8314), logged in as a user made with `cloudsdial user add`;
# then the literal cases against a restart with LITERAL- (RFC 7888 §4) advertised.
# The failed-login delays are shortened so the suite's wrong-password cases do not wait.
# usage: imap_live_test.sh CLOUDSDIAL_BINARY SUITE_DIR
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
submission_listen = []
submissions_listen = []

[imap]
listen = ["127.0.0.1:0"]
tls_listen = ["127.0.0.1:0"]

[auth]
plaintext_on_loopback = true
failure_delay = "10ms"
failure_delay_max = "20ms"
ip_failures_max = 10000
user_failures_max = 10000

[domains]
local = ["example.test"]
CONF
echo "conformance-pass-1" | "$bin" user add conformance --config "$tmp/cloudsdial.toml" > /dev/null
# Starts `cloudsdial serve` on $tmp/cloudsdial.toml; sets pid, imap and imaps.
start_server() {
  "$bin" serve --config "$tmp/cloudsdial.toml" > "$tmp/server.log" 2>&1 &
  pid=$!
  imap= imaps=
  i=0
  while [ -z "$imaps" ] && [ "$i" -lt 300 ]; do
    imap=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9][0-9]*\) (imap)$/\1/p' "$tmp/server.log")
    imaps=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9][0-9]*\) (imaps)$/\1/p' "$tmp/server.log")
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  if [ -z "$imap" ] || [ -z "$imaps" ]; then
    cat "$tmp/server.log" >&2
    echo "server did not listen for IMAP" >&2
    exit 1
  fi
}
start_server
status=0
"$bin" conformance --suite imap --target "127.0.0.1:$imap" --suite-dir "$dir" --quiet \
  --user conformance --password conformance-pass-1 || status=$?
echo "--- again on the implicit-TLS port"
"$bin" conformance --suite imap --target "127.0.0.1:$imaps" --suite-dir "$dir" --quiet --tls \
  --user conformance --password conformance-pass-1 || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log" >&2; cat "$tmp/server.log" >&2; fi
# LITERAL- (RFC 7888 §4) is a setting: the literal cases once more against a server that
# advertises it (the LITERAL+ ones are n/a there, the LITERAL- ones run).
kill -TERM "$pid"; wait "$pid" || true; pid=
sed -i 's/^\[imap\]$/[imap]\nliteral_minus = true/' "$tmp/cloudsdial.toml"
start_server
echo "--- the literal cases again with [imap] literal_minus = true"
lstatus=0
"$bin" conformance --suite imap --target "127.0.0.1:$imap" --suite-dir "$dir" --quiet --only "literals/" \
  --user conformance --password conformance-pass-1 || lstatus=$?
if [ "$lstatus" -ne 0 ]; then echo "--- server log" >&2; cat "$tmp/server.log" >&2; status=$lstatus; fi
exit "$status"
