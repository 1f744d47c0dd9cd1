#!/bin/sh
# Runs the POP3 conformance suite against the real `cloudsdial serve` on an ephemeral
# loopback port (ctest conformance_pop3_live), logged in as a user made with `cloudsdial
# user add` whose maildrop gets the two messages conformance/pop3/_setups.md asks for (by
# SMTP to the same server). Exits 77 (ctest: skipped) while the binary has no POP3 server:
# its configuration then refuses the [pop3] section ("pop3: unknown key"), or it starts
# without a POP3 listener. Once POP3 is there every MUST must pass.
# usage: pop3_live_test.sh CLOUDSDIAL_BINARY SUITE_DIR
set -eu
bin=$1
dir=$2
. "$dir/target.sh"
target_tmpdir
target_login_config "$tmp/cloudsdial.toml" "$tmp/var" '[pop3]
listen = ["127.0.0.1:0"]
tls_listen = []'
if ! echo "conformance-pass-1" | "$bin" user add conformance --config "$tmp/cloudsdial.toml" > "$tmp/user.log" 2>&1; then
  if grep -q 'pop3: unknown key' "$tmp/user.log"; then echo "SKIP: this cloudsdial has no POP3 server ([pop3] unknown)"; exit 77; fi
  cat "$tmp/user.log" >&2; exit 1
fi
served=0
target_serve "$bin" "$tmp/cloudsdial.toml" "$tmp/server.log" smtp pop3 || served=$?
if grep -q 'pop3: unknown key' "$tmp/server.log"; then echo "SKIP: this cloudsdial has no POP3 server ([pop3] unknown)"; exit 77; fi
if [ "$served" -ne 0 ]; then
  cat "$tmp/server.log" >&2
  echo "server did not listen for POP3 and SMTP" >&2
  exit 1
fi
smtp=$(target_port "$tmp/server.log" smtp)
pop3=$(target_port "$tmp/server.log" pop3)
# The maildrop: two messages, the first with a body line starting with a dot (SMTP
# dot-stuffs it on the way in; POP3 must stuff it again on the way out).
/usr/bin/python3 - "$smtp" "$pop3" <<'PY'
import poplib, smtplib, sys, time
smtp_port, pop3_port = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="client.example.org", timeout=30)
for i in (1, 2):
    msg = ("From: sender@example.org\r\nTo: conformance@example.test\r\nSubject: reference message %d\r\n"
           "Message-ID: <ref%d@example.org>\r\n\r\nHello %d.\r\n.leading dot line\r\n") % (i, i, i)
    s.sendmail("sender@example.org", ["conformance@example.test"], msg)
s.quit()
deadline = time.monotonic() + 30
while True:
    p = poplib.POP3("127.0.0.1", pop3_port, timeout=30)
    p.user("conformance")
    p.pass_("conformance-pass-1")
    n = p.stat()[0]
    p.quit()
    if n >= 2:
        break
    if time.monotonic() > deadline:
        sys.exit("the maildrop holds %d of 2 messages after 30 s" % n)
    time.sleep(0.1)
PY
status=0
"$bin" conformance --suite pop3 --target "127.0.0.1:$pop3" --suite-dir "$dir" --quiet \
  --user conformance --password conformance-pass-1 || status=$?
if [ "$status" -ne 0 ]; then echo "--- server log" >&2; cat "$tmp/server.log" >&2; fi
exit "$status"
