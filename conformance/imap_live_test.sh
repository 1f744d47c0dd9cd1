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
. "$dir/target.sh"
target_tmpdir
target_login_config "$tmp/cloudsdial.toml" "$tmp/var" '[imap]
listen = ["127.0.0.1:0"]
tls_listen = ["127.0.0.1:0"]'
echo "conformance-pass-1" | "$bin" user add conformance --config "$tmp/cloudsdial.toml" > /dev/null
# Starts `cloudsdial serve` on $tmp/cloudsdial.toml; sets pid, imap and imaps.
start_server() {
  if ! target_serve "$bin" "$tmp/cloudsdial.toml" "$tmp/server.log" imap imaps; then
    cat "$tmp/server.log" >&2
    echo "server did not listen for IMAP" >&2
    exit 1
  fi
  imap=$(target_port "$tmp/server.log" imap)
  imaps=$(target_port "$tmp/server.log" imaps)
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
