#!/usr/bin/env bash
# dist/test-deb.sh DEB_DIR: installs the cloudsdial .deb built by `make deb` on this machine
# (as root; systemd need not be PID 1), checks what it installed, starts the installed
# server by hand as root with [server] user = "cloudsdial" on loopback ports, checks that
# no process or thread of it runs as root, delivers one mail over SMTP into its Maildir
# under /var/lib/cloudsdial, stops it, then `dpkg -r` (the data stays) and `dpkg -P` (the
# data, the user and the group go). `make deb-test` runs it; CI runs that.
# Must not: touch an installed cloudsdial package (it refuses to start then), send traffic
# anywhere but 127.0.0.1, or leave the package, the user or a server behind, even when a
# check fails (the EXIT trap purges). Prints "N passed, M failed"; exit 1 if M > 0.
set -euo pipefail

deb_dir="${1:-build/deb}"
deb="$(ls "$deb_dir"/cloudsdial_*.deb 2>/dev/null | head -n 1 || true)"
[ -n "$deb" ] || { echo "test-deb: no cloudsdial_*.deb in $deb_dir (run make deb)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test-deb: must run as root (dpkg -i, the privilege drop)" >&2; exit 2; }
if dpkg-query -W -f='${Status}' cloudsdial 2>/dev/null | grep -q "ok installed"; then
  echo "test-deb: the package cloudsdial is installed on this machine; refusing to remove it" >&2
  exit 2
fi
if [ -e /var/lib/cloudsdial ]; then
  echo "test-deb: /var/lib/cloudsdial exists (someone's data?); refusing to purge it" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
work="$(mktemp -d /tmp/cloudsdial-deb-test.XXXXXX)"
server_pid=""
passed=0
failed=0

cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if dpkg-query -W -f='${Status}' cloudsdial 2>/dev/null | grep -qv "not-installed"; then
    dpkg -P cloudsdial >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

ok() {  # ok DESCRIPTION COMMAND...: one counted check
  local what="$1"; shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok: $what"
  else
    failed=$((failed + 1)); echo "FAIL: $what" >&2
  fi
}
die() { echo "test-deb: $*" >&2; [ -f "$work/serve.log" ] && sed 's/^/  serve: /' "$work/serve.log" >&2; exit 1; }
stat_is() { [ "$(stat -c '%a %U:%G' "$1")" = "$2" ] || { echo "  $1 is $(stat -c '%a %U:%G' "$1"), want $2" >&2; return 1; }; }

# --- install
echo "test-deb: dpkg -i $deb"
dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1 || { cat "$work/dpkg-i.log" >&2; die "dpkg -i failed"; }
ok "package installed" bash -c "dpkg-query -W -f='\${Status}' cloudsdial | grep -q \"ok installed\""
ok "binary /usr/sbin/cloudsdial 755 root:root" stat_is /usr/sbin/cloudsdial "755 root:root"
ok "man page cloudsdial(8)" test -f /usr/share/man/man8/cloudsdial.8.gz
ok "man page cloudsdial.toml(5)" test -f /usr/share/man/man5/cloudsdial.toml.5.gz
ok "unit /lib/systemd/system/cloudsdial.service" test -f /lib/systemd/system/cloudsdial.service
ok "config 640 root:cloudsdial" stat_is /etc/cloudsdial/cloudsdial.toml "640 root:cloudsdial"
ok "config is a conffile" grep -qx " */etc/cloudsdial/cloudsdial.toml [0-9a-f]*" \
  <(dpkg-query -W -f='${Conffiles}\n' cloudsdial)
ok "service enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/cloudsdial.service
# Nothing but the binary, the man pages, the unit, the config, the Debian docs and the
# lintian overrides.
unexpected="$(dpkg -L cloudsdial | grep -v -E '^/(\.|usr|usr/sbin|usr/share|usr/share/man|usr/share/man/man[58]|usr/share/doc|usr/share/doc/cloudsdial|usr/share/lintian|usr/share/lintian/overrides|lib|lib/systemd|lib/systemd/system|etc|etc/cloudsdial)$' \
  | grep -v -E '^(/usr/sbin/cloudsdial|/usr/share/man/man8/cloudsdial\.8\.gz|/usr/share/man/man5/cloudsdial\.toml\.5\.gz|/lib/systemd/system/cloudsdial\.service|/etc/cloudsdial/cloudsdial\.toml|/usr/share/doc/cloudsdial/(copyright|changelog\.gz)|/usr/share/lintian/overrides/cloudsdial)$' || true)"
ok "the package holds nothing else${unexpected:+ (extra: $unexpected)}" test -z "$unexpected"
ok "system user cloudsdial" bash -c "getent passwd cloudsdial >/dev/null"
uid="$(id -u cloudsdial)"; gid="$(getent group cloudsdial | cut -d: -f3)"
ok "cloudsdial is a system uid ($uid) with nologin, home /var/lib/cloudsdial" \
  test "$uid" -lt 1000 -a "$(getent passwd cloudsdial | cut -d: -f6,7)" = "/var/lib/cloudsdial:/usr/sbin/nologin"
ok "its primary group is cloudsdial" test "$(id -g cloudsdial)" = "$gid"
if getent group ssl-cert >/dev/null; then
  ok "cloudsdial is in ssl-cert" bash -c 'id -nG cloudsdial | tr " " "\n" | grep -qx ssl-cert'
fi
ok "data dir 750 cloudsdial:cloudsdial" stat_is /var/lib/cloudsdial "750 cloudsdial:cloudsdial"
ok "systemd-analyze verify the unit" systemd-analyze verify /lib/systemd/system/cloudsdial.service
ok "check-config passes on the installed config" \
  bash -c '/usr/sbin/cloudsdial check-config --config /etc/cloudsdial/cloudsdial.toml >/dev/null'

# --- serve: the installed config on loopback (SMTP on a free port, the rest on port 0)
smtp_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
chmod 0755 "$work"
python3 - "$smtp_port" /etc/cloudsdial/cloudsdial.toml "$work/test.toml" <<'EOF'
import re, sys
port, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
out = []
for line in open(src):
    m = re.match(r'(listen|submission_listen|submissions_listen|tls_listen) = ', line)
    if m and line.startswith("listen = [\"0.0.0.0:25\""):
        line = 'listen = ["127.0.0.1:%s"]\n' % port
    elif m:
        line = '%s = ["127.0.0.1:0"]\n' % m.group(1)
    out.append(line)
out.append('\n[[users]]\nname = "pkgtest"\n')
open(dst, "w").write("".join(out))
EOF
chmod 0644 "$work/test.toml"
grep -q "127.0.0.1:$smtp_port" "$work/test.toml" || die "could not rewrite the SMTP listener"
if grep -E '^(listen|submission_listen|submissions_listen|tls_listen) = ' "$work/test.toml" | grep -v '127\.0\.0\.1:'; then
  die "a listener of the test config is not on loopback"
fi
grep -q '^user = "cloudsdial"' "$work/test.toml" || die "the installed config does not say user = \"cloudsdial\""

echo "test-deb: starting /usr/sbin/cloudsdial serve as root (user = cloudsdial), SMTP on 127.0.0.1:$smtp_port"
/usr/sbin/cloudsdial serve --config "$work/test.toml" >"$work/serve.log" 2>&1 </dev/null &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q "ready (pid" "$work/serve.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || die "the server exited during startup"
  sleep 0.1
done
grep -q "ready (pid" "$work/serve.log" || die "the server did not say ready within 30 s"

# No process of it (the server and any child) and no thread runs as root: real, effective,
# saved and file-system uid and gid all cloudsdial's, no supplementary group root.
pids="$(echo "$server_pid" $(ps -o pid= --ppid "$server_pid") | tr -s ' ' ',')"
ps -L -o pid=,lwp=,user:16=,ruser:16=,suser:16=,fuser:16=,group:16=,rgroup:16=,sgroup:16=,fgroup:16=,comm= \
  -p "$pids" >"$work/ps.txt" || true
sed 's/^/  ps: /' "$work/ps.txt"
ok "ps lists the server's threads" test -s "$work/ps.txt"
ok "ps: every user and group column of every thread is cloudsdial" \
  bash -c "! awk '{for (i = 3; i <= 10; i++) if (\$i != \"cloudsdial\") bad = 1} END {exit !bad}' '$work/ps.txt'"
ids_ok=1
for task in /proc/"$server_pid"/task/*; do
  read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "$task/status")
  read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "$task/status")
  groups="$(grep '^Groups:' "$task/status" | cut -f2)"
  for v in $u1 $u2 $u3 $u4; do [ "$v" = "$uid" ] || ids_ok=0; done
  for v in $g1 $g2 $g3 $g4; do [ "$v" = "$gid" ] || ids_ok=0; done
  for v in $groups; do [ "$v" != 0 ] || ids_ok=0; done
done
ok "/proc: real/effective/saved/fs uid $uid and gid $gid in every thread, no group 0" test "$ids_ok" = 1
ok "/proc: no effective or permitted capabilities left" \
  bash -c "grep -Eq '^CapEff:\s+0+$' /proc/$server_pid/status && grep -Eq '^CapPrm:\s+0+$' /proc/$server_pid/status"
ok "/proc: NoNewPrivs set" grep -Eq '^NoNewPrivs:\s+1$' "/proc/$server_pid/status"
ok "no process named cloudsdial runs as root" \
  bash -c '! ps -C cloudsdial -o user:16=,ruser:16= | grep -qw root'

# One mail over SMTP into the Maildir.
marker="deb-test-$$-$RANDOM"
smtp_rc=0
python3 - "$smtp_port" "$marker" <<'EOF' || smtp_rc=$?
import smtplib, sys
port, marker = int(sys.argv[1]), sys.argv[2]
msg = ("From: test <sender@example.net>\r\nTo: <pkgtest@example.org>\r\n"
       "Subject: %s\r\n\r\nDelivered by dist/test-deb.sh.\r\n" % marker)
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    s.ehlo("test.example.net")
    refused = s.sendmail("sender@example.net", ["pkgtest@example.org"], msg)
    assert not refused, refused
EOF
ok "SMTP accepted the mail" test "$smtp_rc" = 0
maildir=/var/lib/cloudsdial/mail/pkgtest/Maildir/new
found=""
for _ in $(seq 1 50); do
  found="$(grep -l "$marker" "$maildir"/* 2>/dev/null | head -n 1 || true)"
  [ -n "$found" ] && break
  sleep 0.1
done
ok "the mail is in $maildir" test -n "$found"
[ -n "$found" ] && ok "the message file is 600 cloudsdial:cloudsdial" stat_is "$found" "600 cloudsdial:cloudsdial"
not_ours="$(find /var/lib/cloudsdial \( ! -user cloudsdial -o ! -group cloudsdial \) -printf '%p %u:%g\n' || true)"
ok "everything under /var/lib/cloudsdial is cloudsdial's${not_ours:+ (not: $not_ours)}" test -z "$not_ours"
ok "the user cloudsdial cannot write to /etc/cloudsdial" \
  bash -c "! setpriv --reuid=$uid --regid=$gid --clear-groups touch /etc/cloudsdial/x 2>/dev/null"

# Stop it.
kill -TERM "$server_pid"
rc=0; wait "$server_pid" || rc=$?
server_pid=""
ok "the server stopped with exit code 0 after SIGTERM" test "$rc" = 0

# --- remove: the data, the user and the config stay
dpkg -r cloudsdial >"$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log" >&2; die "dpkg -r failed"; }
ok "dpkg -r removed the binary" test ! -e /usr/sbin/cloudsdial
ok "dpkg -r removed the unit" test ! -e /lib/systemd/system/cloudsdial.service
ok "dpkg -r kept the mail" bash -c "grep -lq '$marker' $maildir/*"
ok "dpkg -r kept the user" bash -c "getent passwd cloudsdial >/dev/null"
ok "dpkg -r kept the config" test -f /etc/cloudsdial/cloudsdial.toml

# --- purge: everything goes
dpkg -P cloudsdial >"$work/dpkg-p.log" 2>&1 || { cat "$work/dpkg-p.log" >&2; die "dpkg -P failed"; }
ok "dpkg -P removed /var/lib/cloudsdial" test ! -e /var/lib/cloudsdial
ok "dpkg -P removed the user" bash -c '! getent passwd cloudsdial'
ok "dpkg -P removed the group" bash -c '! getent group cloudsdial'
ok "dpkg -P removed /etc/cloudsdial" test ! -e /etc/cloudsdial
ok "dpkg -P removed the enable link" test ! -e /etc/systemd/system/multi-user.target.wants/cloudsdial.service

echo "test-deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
