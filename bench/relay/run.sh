#!/bin/bash
# bench/relay/run.sh - relay throughput of two cloudsdial instances vs two Postfix
# instances on loopback, in the same run (issue 13, "Benchmark"), and the deferred-queue
# test (resident memory and restart time with 100,000 deferred messages).
#
# usage: bench/relay/run.sh [options] CLOUDSDIAL_BINARY
#   -n N        messages per run                              (default 2000)
#   -r R        runs per (tls, size, sessions) cell; median   (default 3)
#   -q          quick mode: -n 300 -r 1 -Q 5000 (a smoke test, figures are noisy)
#   -z SIZES    payload sizes in bytes                        (default "1024 102400")
#   -p SESS     concurrent client sessions submitting to A    (default "1 20")
#   -t MODES    A -> B TLS: "none" and/or "opportunistic"     (default "none opportunistic")
#   -d          clients reuse connections (smtp-source -d); default one message per connection
#   -O          ours only: no Postfix pair
#   -Q N        deferred-queue test with N messages (default 100000; 0 skips it)
#   -R          relay throughput skipped (only the deferred-queue test)
#   -W LOAD     first wait until the 1-min load average is below LOAD (30 s polls, at most
#               -T minutes, default 40; then measure anyway, and say so)
#   -o DIR      where the report goes                         (default <repo>/bench/results)
#   -D DIR      parent of the temp dir                        (default ${TMPDIR:-/var/tmp})
#   -k          keep the temp dir (configs, logs, raw TSV)
#
# Relay throughput. Sender A (a.test) relays to receiver B (b.test) on loopback:
#   ours:    two `cloudsdial serve`: A with [relay] trusted_networks = ["127.0.0.0/8"] and
#            [[relay.routes]] domain = "b.test" -> B's port (one A per TLS mode); B delivers
#            to user1's Maildir.
#   Postfix: two private instances (postfix -c, state in the temp dir, not the shared peer):
#            A with mynetworks 127.0.0.0/8, relayhost [127.0.0.1]:B, smtp_tls_security_level
#            none or may (one A per TLS mode), DNS off; B with virtual(8) delivery to a
#            Maildir, STARTTLS offered with a self-signed P-256 certificate.
# Postfix's smtp-source submits N messages to A (MAIL FROM sender@a.test, RCPT user1@b.test);
# relayed msg/s = N / time from the start of smtp-source until the N-th file is in B's
# Maildir new/+cur/. CPU per message = utime+stime of A's and B's whole process trees
# (proctree.py: all Postfix processes) over the run, read once A's queue is empty again.
# Every cell alternates ours / Postfix run by run (and which goes first); before each run
# B's Maildir is moved aside (no inode freed while measuring, see bench/README.md).
#
# Deferred queue. A fresh A whose route points at a closed loopback port: N messages are
# submitted (1 KiB, 20 sessions, connection reuse) and each is deferred once (first_retry
# 1h). Then: A's RSS/PSS with the queue loaded, SIGTERM, and the restart timed from the
# exec of `serve` to its "cloudsdial: ready" line (queue loaded, listeners up), twice: with
# the queue files' page cache warm, and after dropping the queue files' pages
# (posix_fadvise DONTNEED, dentries and inodes stay cached); RSS after the restart.
#
# Peer scripts (proctree.py): ${PEERS:-<repo>/../shared/peers}. Loopback only; builds and
# downloads nothing; never touches the shared peer Postfix ($PEER_ROOT).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PEERS=${PEERS:-$REPO/../shared/peers}
PY=/usr/bin/python3

COUNT=2000; RUNS=3; SIZES="1024 102400"; SESS="1 20"; MODES="none opportunistic"; REUSE=""
OURS_ONLY=0; QUEUE_N=100000; RELAY=1; LOAD_MAX=""; LOAD_WAIT_MIN=40
OUTDIR=$REPO/bench/results; TMPBASE=${TMPDIR:-/var/tmp}; KEEP=0
usage() { sed -n '2,46p' "$0"; exit 2; }
OPTIND=1
while getopts "n:r:qz:p:t:dOQ:RW:T:o:D:kh" o; do
  case $o in
    n) COUNT=$OPTARG;; r) RUNS=$OPTARG;; q) COUNT=300; RUNS=1; QUEUE_N=5000;;
    z) SIZES=$OPTARG;; p) SESS=$OPTARG;; t) MODES=$OPTARG;; d) REUSE=-d;; O) OURS_ONLY=1;;
    Q) QUEUE_N=$OPTARG;; R) RELAY=0;; W) LOAD_MAX=$OPTARG;; T) LOAD_WAIT_MIN=$OPTARG;;
    o) OUTDIR=$OPTARG;; D) TMPBASE=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
BIN=$(realpath "$1")
[ -x "$BIN" ] || { echo "relay: $1 is not an executable" >&2; exit 2; }
[ -f "$PEERS/proctree.py" ] || { echo "relay: no peer scripts in $PEERS (set PEERS=)" >&2; exit 2; }
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SRC" ] || { echo "relay: smtp-source missing (Debian package postfix)" >&2; exit 2; }
for m in $MODES; do
  case $m in none|opportunistic) ;; *) echo "relay: -t takes none and/or opportunistic" >&2; exit 2;; esac
done
if [ "$OURS_ONLY" = 0 ] && [ "$RELAY" = 1 ]; then
  command -v postfix >/dev/null || { echo "relay: postfix missing (-O to skip it)" >&2; exit 2; }
fi

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/relay-$STAMP.md
TSV=$OUTDIR/relay-$STAMP.tsv
WORK=$(mktemp -d "$TMPBASE/cloudsdial-relay.XXXXXX")
chmod 755 "$WORK"
QTSV=$WORK/queue.tsv
declare -A OURS_PID=() OURS_PORT=() PF_STARTED=()
log() { echo "=== $* ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$WORK/steps.log"; }

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------------ ours
# serve_start, serve_stop: bench/lib/serve.sh
. "$HERE/../lib/serve.sh"
# ours_start NAME CONFIG_BODY: writes $WORK/NAME/cloudsdial.toml, starts serve, waits for
# "ready"; sets OURS_PID[NAME], OURS_PORT[NAME].
ours_start() {
  local name=$1 body=$2 dir=$WORK/$1 port="" pid
  mkdir -p "$dir"
  printf '%s\n' "$body" >"$dir/cloudsdial.toml"
  local ready=0
  serve_start "$BIN" "$dir/cloudsdial.toml" "$dir/cloudsdial.log" && ready=1
  pid=$SERVE_PID
  port=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/cloudsdial.log" | head -1)
  if [ -z "$port" ] || [ "$ready" = 0 ]; then
    echo "relay: cloudsdial $name did not start; its log:" >&2
    cat "$dir/cloudsdial.log" >&2
    exit 1
  fi
  OURS_PID[$name]=$pid; OURS_PORT[$name]=$port
  echo "cloudsdial $name: pid $pid, 127.0.0.1:$port"
}
ours_stop() {
  local name=$1 pid=${OURS_PID[$1]:-}
  [ -n "$pid" ] || return 0
  serve_stop "$pid" "relay: $name"
  unset "OURS_PID[$name]"
}
ours_config() {  # NAME DOMAIN HOSTNAME EXTRA
  cat <<EOF
# written by bench/relay/run.sh
[server]
hostname = "$3"
data_dir = "$WORK/$1/data"
log_level = "info"
shutdown_timeout = "10s"

[smtp]
listen = ["127.0.0.1:0"]
submission_listen = []
submissions_listen = []
max_connections = 10000
max_connections_per_ip = 10000
message_size_max = "35MiB"
$4
[domains]
local = ["$2"]

[[users]]
name = "user1"
EOF
}
ours_a_extra() {  # B_PORT TLS [QUEUE_KEYS]
  cat <<EOF

[relay]
trusted_networks = ["127.0.0.0/8"]

[[relay.routes]]
domain = "b.test"
host = "127.0.0.1"
port = $1
tls = "$2"

[queue]
${3:-}
EOF
}

# ------------------------------------------------------------------ Postfix pair
PF_UID=$(id -u nobody); PF_GID=$(id -g nobody)
pf_write() {  # NAME ROLE(a|b) PORT [B_PORT TLS]
  local name=$1 role=$2 port=$3 d=$WORK/$1
  mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/log"
  chown postfix "$d/data"
  {
    echo "# written by bench/relay/run.sh: private loopback-only Postfix ($role)"
    echo "compatibility_level = 3.6"
    echo "queue_directory = $d/spool"
    echo "data_directory = $d/data"
    echo "mail_owner = postfix"
    echo "setgid_group = postdrop"
    echo "inet_interfaces = loopback-only"
    echo "inet_protocols = ipv4"
    echo "mynetworks = 127.0.0.0/8"
    echo "smtpd_peername_lookup = no"
    echo "biff = no"
    echo "alias_maps ="
    echo "alias_database ="
    echo "append_dot_mydomain = no"
    echo "smtpd_banner = \$myhostname ESMTP \$mail_name"
    echo "maillog_file = $d/log/maillog"
    echo "maillog_file_prefixes = $WORK"
    echo "message_size_limit = 36700160"
    if [ "$role" = a ]; then
      echo "myhostname = mx.a.test"
      echo "mydomain = a.test"
      echo "mydestination ="
      echo "local_recipient_maps ="
      echo "relayhost = [127.0.0.1]:$4"
      echo "default_transport = smtp"
      echo "relay_transport = smtp"
      echo "smtpd_relay_restrictions = permit_mynetworks reject"
      echo "smtp_dns_support_level = disabled"
      echo "smtp_bind_address = 127.0.0.1"
      echo "smtp_tls_security_level = $([ "$5" = none ] && echo none || echo may)"
    else
      echo "myhostname = mx.b.test"
      echo "mydomain = b.test"
      echo "mydestination ="
      echo "local_recipient_maps ="
      echo "default_transport = error:no outbound mail from this loopback test instance"
      echo "relay_transport = error:no outbound mail from this loopback test instance"
      echo "smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination"
      echo "virtual_mailbox_domains = b.test"
      echo "virtual_mailbox_base = $d/mail"
      echo "virtual_mailbox_maps = texthash:$d/etc/vmailbox"
      echo "virtual_uid_maps = static:$PF_UID"
      echo "virtual_gid_maps = static:$PF_GID"
      echo "virtual_minimum_uid = 100"
      echo "smtpd_tls_security_level = may"
      echo "smtpd_tls_cert_file = $d/etc/cert.pem"
      echo "smtpd_tls_key_file = $d/etc/key.pem"
    fi
  } >"$d/etc/main.cf"
  {
    echo "# written by bench/relay/run.sh"
    echo "127.0.0.1:$port inet n - n - 100 smtpd"
    for l in "pickup unix n - n 60 1 pickup" "cleanup unix n - n - 0 cleanup" "qmgr unix n - n 300 1 qmgr" \
             "tlsmgr unix - - n 1000? 1 tlsmgr" "rewrite unix - - n - - trivial-rewrite" \
             "bounce unix - - n - 0 bounce" "defer unix - - n - 0 bounce" "trace unix - - n - 0 bounce" \
             "verify unix - - n - 1 verify" "flush unix n - n 1000? 0 flush" "proxymap unix - - n - - proxymap" \
             "proxywrite unix - - n - 1 proxymap" "showq unix n - n - - showq" "error unix - - n - - error" \
             "retry unix - - n - - error" "discard unix - - n - - discard" "anvil unix - - n - 1 anvil" \
             "scache unix - - n - 1 scache" "postlog unix-dgram n - n - 1 postlogd"; do
      echo "$l"
    done
    if [ "$role" = a ]; then
      echo "smtp unix - - n - - smtp"
      echo "relay unix - - n - - smtp"
    else
      echo "virtual unix - n n - - virtual"
      echo "local unix - n n - - local"
    fi
  } >"$d/etc/master.cf"
  if [ "$role" = b ]; then
    echo "user1@b.test user1/Maildir/" >"$d/etc/vmailbox"
    mkdir -p "$d/mail/user1/Maildir/"{tmp,new,cur}
    chown -R "$PF_UID:$PF_GID" "$d/mail"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=mx.b.test" -keyout "$d/etc/key.pem" -out "$d/etc/cert.pem" >/dev/null 2>&1
  fi
  postfix -c "$d/etc" check >"$d/log/check.txt" 2>&1 || { cat "$d/log/check.txt" >&2; exit 1; }
}
pf_start() {
  local d=$WORK/$1 port=$2
  postfix -c "$d/etc" start >"$d/log/start.txt" 2>&1 || { cat "$d/log/start.txt" "$d/log/maillog" >&2; exit 1; }
  PF_STARTED[$1]=1
  for _ in $(seq 1 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
  ss -Hltn "sport = :$port" | grep -q . || { echo "relay: Postfix $1 not listening on $port" >&2; cat "$d/log/maillog" >&2; exit 1; }
  echo "postfix $1: master pid $(pf_pid "$1"), 127.0.0.1:$port"
}
pf_pid() { head -1 "$WORK/$1/spool/pid/master.pid" | tr -d ' '; }
pf_stop() {
  local d=$WORK/$1 pid tree p left=""
  [ "${PF_STARTED[$1]:-0}" = 1 ] || return 0
  pid=$(pf_pid "$1")
  tree=$($PY "$PEERS/proctree.py" pids "$pid" 2>/dev/null || echo "$pid")
  kill -TERM "$pid" 2>/dev/null || true   # what `postfix stop` does
  for _ in $(seq 1 100); do
    left=""; for p in $tree; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
  PF_STARTED[$1]=0
}

ASIDE_N=0
set_aside() {  # MAILDIR: move delivered files into a sibling dir (renames, no inode freed)
  local md=$1 dir
  ASIDE_N=$((ASIDE_N + 1))
  dir="$(dirname "$md")/aside.$ASIDE_N"
  mkdir -p "$dir"
  find "$md/new" "$md/cur" -maxdepth 1 -type f -exec mv -t "$dir" {} + 2>/dev/null || true
}
cleanup() {
  local n
  for n in "${!OURS_PID[@]}"; do ours_stop "$n"; done
  for n in "${!PF_STARTED[@]}"; do pf_stop "$n"; done
  if [ "$KEEP" = 1 ]; then echo "relay: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ------------------------------------------------------------------ load
. "$HERE/../lib/wait_load.sh"
wait_load relay

# ------------------------------------------------------------------ one run
tree_cpu() { local s=0 p; for p in "$@"; do s=$($PY "$PEERS/proctree.py" cpu "$p" | awk -v s="$s" '{print s + $1}'); done; echo "$s"; }
sys_busy() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8+$9)/hz; exit}' /proc/stat; }
count_files() {  # DIR...: regular files directly in each (missing dirs count 0)
  $PY - "$@" <<'EOF'
import os, sys
n = 0
for d in sys.argv[1:]:
    try:
        n += sum(1 for e in os.scandir(d) if e.is_file())
    except FileNotFoundError:
        pass
print(n)
EOF
}
# wait_count WANT TIMEOUT DIR...: prints the epoch when DIRs hold >= WANT files, or "timeout"
wait_count() {
  $PY - "$@" <<'EOF'
import os, sys, time
want, tmo, dirs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
end = time.time() + tmo
while True:
    n = 0
    for d in dirs:
        try:
            n += sum(1 for _ in os.scandir(d))
        except FileNotFoundError:
            pass
    if n >= want:
        print("%.6f" % time.time()); break
    if time.time() > end:
        print("timeout"); break
    time.sleep(0.02)
EOF
}
# wait_empty TIMEOUT DIR...: until every DIR tree holds no regular file (A's queue drained)
wait_empty() {
  $PY - "$@" <<'EOF'
import os, sys, time
tmo, dirs = float(sys.argv[1]), sys.argv[2:]
end = time.time() + tmo
def files():
    n = 0
    for d in dirs:
        for _, _, fs in os.walk(d):
            n += len(fs)
    return n
while files() and time.time() < end:
    time.sleep(0.02)
print(files())
EOF
}

HDR="system\ttls\tsize\tsessions\tcount\trun\taccept_s\taccept_msg_s\te2e_s\te2e_msg_s\te2e_MB_s\tcpu_s\tcpu_a_s\tcpu_b_s\tsys_busy_s\tload1\tqueue_left"
echo -e "$HDR" >"$TSV"

# run_one SYSTEM TLS SIZE SESS RUN
run_one() {
  local sys=$1 tls=$2 size=$3 s=$4 run=$5 port md pa pb qdirs base load1 ca0 cb0 ca1 cb1 b0 b1 t0 t1 t2 left
  if [ "$sys" = cloudsdial ]; then
    port=${OURS_PORT[a-$tls]}; md=$WORK/b/data/mail/user1/Maildir
    pa=${OURS_PID[a-$tls]}; pb=${OURS_PID[b]}
    qdirs=("$WORK/a-$tls/data/queue/active")
  else
    port=$PFA_PORT_BASE; [ "$tls" = opportunistic ] && port=$((PFA_PORT_BASE + 1))
    md=$WORK/pf-b/mail/user1/Maildir
    pa=$(pf_pid "pf-a-$tls"); pb=$(pf_pid pf-b)
    qdirs=("$WORK/pf-a-$tls/spool/"{incoming,active,deferred,hold,maildrop} "$WORK/pf-b/spool/"{incoming,active,deferred,maildrop})
  fi
  set_aside "$md"
  sync
  base=$(count_files "$md/new" "$md/cur")
  load1=$(cut -d' ' -f1 /proc/loadavg)
  ca0=$(tree_cpu "$pa"); cb0=$(tree_cpu "$pb"); b0=$(sys_busy)
  t0=$(date +%s.%N)
  "$SRC" $REUSE -s "$s" -l "$size" -m "$COUNT" -M localhost -f sender@a.test -t user1@b.test "127.0.0.1:$port" \
    >"$WORK/src.out" 2>&1 || { echo "relay: smtp-source failed:" >&2; cat "$WORK/src.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  t2=$(wait_count $((base + COUNT)) 600 "$md/new" "$md/cur")
  [ "$t2" = timeout ] && { echo "relay: $sys $tls $size x $s: end-to-end timeout" >&2; t2=nan; }
  left=$(wait_empty 30 "${qdirs[@]}")   # A's (and B's) queue drained: its CPU for these messages is in
  ca1=$(tree_cpu "$pa"); cb1=$(tree_cpu "$pb"); b1=$(sys_busy)
  $PY - "$sys" "$tls" "$size" "$s" "$COUNT" "$run" "$t0" "$t1" "$t2" "$ca0" "$ca1" "$cb0" "$cb1" "$b0" "$b1" "$load1" "$left" <<'EOF' | tee -a "$TSV" | awk -F'\t' '{printf "%-10s tls=%-13s size=%-6s sess=%-2s run=%s  accepted %7.1f msg/s  relayed e2e %7.1f msg/s  cpu %5.2f ms/msg (A %.2f s, B %.2f s)  load %s\n",$1,$2,$3,$4,$6,$8,$10,$12*1000/$5,$13,$14,$16}'
import sys, math
sysn, tls, size, s, n, run, t0, t1, t2, ca0, ca1, cb0, cb1, b0, b1, l1, left = sys.argv[1:]
size, n = int(size), int(n)
t0, t1, t2 = float(t0), float(t1), float(t2)
a, e = t1 - t0, t2 - t0
ca, cb = float(ca1) - float(ca0), float(cb1) - float(cb0)
f = lambda x: "nan" if math.isnan(x) else "%.3f" % x
print("\t".join([sysn, tls, str(size), s, str(n), run, f(a), f(n / a), f(e), f(n / e), f(n * size / 1e6 / e),
                 f(ca + cb), f(ca), f(cb), f(float(b1) - float(b0)), l1, left]))
EOF
}

# ------------------------------------------------------------------ relay throughput
if [ "$RELAY" = 1 ]; then
  log "cloudsdial: B, then one A per TLS mode"
  ours_start b "$(ours_config b b.test mx.b.test "")"
  for m in $MODES; do
    ours_start "a-$m" "$(ours_config "a-$m" a.test mx.a.test "$(ours_a_extra "${OURS_PORT[b]}" "$m")")"
  done
  if [ "$OURS_ONLY" = 0 ]; then
    log "postfix: B, then one A per TLS mode"
    PFB_PORT=$(free_port); PFA_PORT_BASE=$(free_port)
    while [ "$PFA_PORT_BASE" = "$PFB_PORT" ] || ss -Hltn "sport = :$((PFA_PORT_BASE + 1))" | grep -q .; do PFA_PORT_BASE=$(free_port); done
    pf_write pf-b b "$PFB_PORT"; pf_start pf-b "$PFB_PORT"
    for m in $MODES; do
      p=$PFA_PORT_BASE; [ "$m" = opportunistic ] && p=$((PFA_PORT_BASE + 1))
      pf_write "pf-a-$m" a "$p" "$PFB_PORT" "$m"; pf_start "pf-a-$m" "$p"
    done
  fi
  # warm-up (page cache, first Maildir entries, Postfix process pools), not recorded
  for m in $MODES; do
    "$SRC" -s 20 -l 1024 -m 100 -M localhost -f sender@a.test -t user1@b.test "127.0.0.1:${OURS_PORT[a-$m]}" >/dev/null
    [ "$OURS_ONLY" = 0 ] && "$SRC" -s 20 -l 1024 -m 100 -M localhost -f sender@a.test -t user1@b.test \
      "127.0.0.1:$([ "$m" = none ] && echo "$PFA_PORT_BASE" || echo $((PFA_PORT_BASE + 1)))" >/dev/null
  done
  wait_count 100 60 "$WORK/b/data/mail/user1/Maildir/new" >/dev/null
  [ "$OURS_ONLY" = 0 ] && wait_count 100 60 "$WORK/pf-b/mail/user1/Maildir/new" >/dev/null
  first=cloudsdial; second=postfix
  for m in $MODES; do
    for size in $SIZES; do
      for s in $SESS; do
        for run in $(seq 1 "$RUNS"); do
          log "tls $m, $size B x $s, run $run"
          if [ "$OURS_ONLY" = 1 ]; then run_one cloudsdial "$m" "$size" "$s" "$run"; continue; fi
          run_one $first "$m" "$size" "$s" "$run"; run_one $second "$m" "$size" "$s" "$run"
          t=$first; first=$second; second=$t
        done
      done
    done
  done
  # first line only, taken after the fact (a `| head -1` would break proctree's pipe)
  MEM_A=$($PY "$PEERS/proctree.py" mem "${OURS_PID[a-${MODES%% *}]}" || true); MEM_A=${MEM_A%%$'\n'*}
  MEM_B=$($PY "$PEERS/proctree.py" mem "${OURS_PID[b]}" || true); MEM_B=${MEM_B%%$'\n'*}
  WARN_LINES=$(cat "$WORK"/b/cloudsdial.log "$WORK"/a-*/cloudsdial.log | grep -cE ' (warn|error)' || true)
  DEFERRED_LINES=$(cat "$WORK"/a-*/cloudsdial.log | grep -c 'status=deferred' || true)
  for m in $MODES; do ours_stop "a-$m"; pf_stop "pf-a-$m"; done
  ours_stop b; pf_stop pf-b
fi
LOAD_MID=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ deferred queue
echo -e "what\tvalue\tload1" >"$QTSV"
qrow() { echo -e "$1\t$2\t$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$QTSV"; }
if [ "$QUEUE_N" -gt 0 ]; then
  CLOSED=$(free_port)   # nothing listens there: every attempt is refused at once
  QA_CONF=$(ours_config q a.test mx.a.test "$(ours_a_extra "$CLOSED" none 'first_retry = "1h"
max_retry = "1h"
connect_timeout = "2s"')")
  log "deferred queue: submitting $QUEUE_N messages to an A whose route is refused"
  ours_start q "$QA_CONF"
  QPID=${OURS_PID[q]}
  t0=$(date +%s.%N)
  "$SRC" -d -s 20 -l 1024 -m "$QUEUE_N" -M localhost -f sender@a.test -t user1@b.test "127.0.0.1:${OURS_PORT[q]}" \
    >"$WORK/src.out" 2>&1 || { echo "relay: smtp-source failed:" >&2; cat "$WORK/src.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  # every message deferred once (one "status=deferred" line each)
  for _ in $(seq 1 1200); do
    [ "$(grep -c 'status=deferred' "$WORK/q/cloudsdial.log" || true)" -ge "$QUEUE_N" ] && break
    sleep 0.5
  done
  t2=$(date +%s.%N)
  qrow submit_msg_s "$($PY -c "print('%.0f' % ($QUEUE_N / ($t1 - $t0)))")"
  qrow all_deferred_s "$($PY -c "print('%.1f' % ($t2 - $t0))")"
  qrow deferred_lines "$(grep -c 'status=deferred' "$WORK/q/cloudsdial.log" || true)"
  qrow queue_env_files "$(find "$WORK/q/data/queue/active" -maxdepth 1 -name '*.env' | wc -l)"
  qrow queue_dir_MB "$(du -sm "$WORK/q/data/queue" | cut -f1)"
  sleep 2
  mem=$($PY -c "import sys; sys.path.insert(0, '$PEERS'); import proctree as p; m = p.mem_kb($QPID); print(m['rss_kb'], m['pss_kb'])")
  qrow rss_kb_after_submit "${mem% *}"; qrow pss_kb_after_submit "${mem#* }"
  ours_stop q
  # restart_timed LABEL: exec of serve -> "cloudsdial: ready" (and the "queue: resumed" line)
  restart_timed() {
    local label=$1 out
    out=$($PY - "$BIN" "$WORK/q/cloudsdial.toml" "$WORK/q/restart-$label.log" "$PEERS" <<'EOF'
import os, subprocess, sys, time
binary, conf, logp, peers = sys.argv[1:5]
sys.path.insert(0, peers)
import proctree
logf = open(logp, "w")
t0 = time.monotonic()
# stdout not inherited: the server outlives this script, and $(...) waits for EOF on it
p = subprocess.Popen([binary, "serve", "--config", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=logf)
ready = resumed = None
while ready is None and p.poll() is None and time.monotonic() - t0 < 300:
    text = open(logp).read()
    if resumed is None and "queue: resumed" in text:
        resumed = time.monotonic() - t0
    if "cloudsdial: ready" in text:
        ready = time.monotonic() - t0
    else:
        time.sleep(0.005)
line = [l for l in open(logp).read().splitlines() if "queue: resumed" in l]
time.sleep(2)
m = proctree.mem_kb(p.pid)
print("%s %s %d %d %d %s" % ("nan" if ready is None else "%.3f" % ready, "nan" if resumed is None else "%.3f" % resumed,
                             m["rss_kb"], m["pss_kb"], p.pid, (line[0].split("resumed ")[1].split()[0] if line else "0")))
EOF
)
    read -r ready resumed rss pss pid nres <<<"$out"
    OURS_PID[q]=$pid
    qrow "restart_${label}_ready_s" "$ready"
    qrow "restart_${label}_resumed_msgs" "$nres"
    qrow "restart_${label}_rss_kb" "$rss"
    qrow "restart_${label}_pss_kb" "$pss"
    ours_stop q
  }
  log "deferred queue: restart, page cache warm"
  restart_timed warm
  log "deferred queue: restart, queue files' pages dropped (fadvise DONTNEED)"
  $PY - "$WORK/q/data/queue/active" <<'EOF'
import os, sys
for e in os.scandir(sys.argv[1]):
    fd = os.open(e.path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
EOF
  restart_timed cold
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
export COUNT RUNS REUSE LOAD_NOTE LOAD_START LOAD_MID LOAD_END BIN QUEUE_N OURS_ONLY
export MEM_A=${MEM_A:-n/a} MEM_B=${MEM_B:-n/a} WARN_LINES=${WARN_LINES:-n/a} DEFERRED_LINES=${DEFERRED_LINES:-n/a}
export R_GIT="repo HEAD $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), binary built $(date -r "$BIN" '+%Y-%m-%d %H:%M')"
export R_FS=$(df -T "$WORK" | awk 'NR==2{print $2 " on " $1}')
export R_HOST="$(nproc) CPUs, kernel $(uname -r), $(postconf -d mail_version 2>/dev/null | sed 's/ = / /' || echo 'postfix ?')"
export R_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
$PY - "$TSV" "$REPORT" "$QTSV" <<'EOF'
import csv, math, os, statistics, sys
E = os.environ
tsv, report, qtsv = sys.argv[1:4]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
cells = {}
for r in rows:
    cells.setdefault((r["system"], r["tls"], int(r["size"]), int(r["sessions"])), []).append(r)
NAN = float("nan")
def vals(rs, k): return [float(r[k]) for r in rs if r[k] != "nan"]
def med(rs, k):
    v = vals(rs, k)
    return statistics.median(v) if v else NAN
def rng(rs, k):
    v = vals(rs, k)
    return (min(v), max(v)) if v else (NAN, NAN)
def f(x, d=1): return "n/a" if x is None or math.isnan(x) else "%.*f" % (d, x)
def ratio(a, b): return "n/a" if math.isnan(a) or math.isnan(b) or b == 0 else "%.2f×" % (a / b)
def size_name(s): return "%d KiB" % (s // 1024) if s % 1024 == 0 else "%d B" % s
def cpu_ms(rs): return med(rs, "cpu_s") * 1000 / int(rs[0]["count"]) if rs else NAN
keys = sorted({(k[1], k[2], k[3]) for k in cells}, key=lambda k: (k[0] != "none", k[1], k[2]))
out = []; p = out.append
p("# relay: cloudsdial → cloudsdial vs Postfix → Postfix, %s" % E["R_DATE"])
p("")
if rows:
    p("Postfix `smtp-source` submits to sender A (a.test, trusted network, no AUTH), which relays over")
    p("SMTP on loopback to receiver B (b.test), which delivers to one Maildir. %s messages per run, median of" % E["COUNT"])
    p("%s run(s) per cell, %s; the two systems alternate run by run." % (
        E["RUNS"], "connection reuse (-d)" if E.get("REUSE") else "one message per client connection"))
    p("Relayed msg/s = messages / time from the start of smtp-source until the last one is in B's Maildir.")
    p("CPU = user+sys of A's and B's whole process trees (Postfix: every process) per message, read")
    p("after A's queue is empty again. A → B TLS: `none`, or `opportunistic` (STARTTLS; Postfix `may`).")
    p("")
    p("| A → B TLS | size | sessions | ours accepted msg/s | **ours relayed msg/s** (MB/s) | Postfix accepted msg/s | **Postfix relayed msg/s** (MB/s) | **ratio relayed** | CPU ms/msg ours / Postfix | **CPU ratio** (Postfix / ours) |")
    p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tls, size, s in keys:
        o = cells.get(("cloudsdial", tls, size, s), []); q = cells.get(("postfix", tls, size, s), [])
        def c(rs, k1, k2=None):
            if not rs: return "—"
            return f(med(rs, k1)) + (" (%s)" % f(med(rs, k2), 2) if k2 else "")
        co, cq = cpu_ms(o), cpu_ms(q)
        p("| %s | %s | %d | %s | **%s** | %s | **%s** | **%s** | %s / %s | **%s** |" % (
            tls, size_name(size), s, c(o, "accept_msg_s"), c(o, "e2e_msg_s", "e2e_MB_s"), c(q, "accept_msg_s"),
            c(q, "e2e_msg_s", "e2e_MB_s"), ratio(med(o, "e2e_msg_s") if o else NAN, med(q, "e2e_msg_s") if q else NAN),
            f(co, 2), f(cq, 2), ratio(cq, co)))
    p("")
    checks = []
    for tls, size, s in keys:
        o = cells.get(("cloudsdial", tls, size, s)); q = cells.get(("postfix", tls, size, s))
        if not o or not q:
            continue
        pairs = sorted(float(a["e2e_msg_s"]) / float(b["e2e_msg_s"]) for a, b in zip(o, q)
                       if a["e2e_msg_s"] != "nan" and b["e2e_msg_s"] != "nan" and float(b["e2e_msg_s"]) > 0)
        r = med(o, "e2e_msg_s") / med(q, "e2e_msg_s"); cr = cpu_ms(q) / cpu_ms(o)
        parts = []
        if s >= 20:
            parts.append("relayed %.2f× Postfix (run by run %s; target ≥ 3×: %s)" % (
                r, ", ".join("%.2f×" % x for x in pairs), "met" if r >= 3 else "**not met**, %.0f%% short" % (100 * (1 - r / 3))))
        else:
            parts.append("relayed %.2f× Postfix (no target at 1 session)" % r)
        parts.append("CPU per message 1/%.1f of Postfix's (target ≤ 1/5: %s)" % (cr, "met" if cr >= 5 else "**not met**"))
        checks.append("* %s, %s, %d session(s): %s." % (tls, size_name(size), s, "; ".join(parts)))
    p("Targets (issue 13): relayed ≥ 3× Postfix at 20 sessions; server CPU per relayed message ≤ 1/5 of Postfix's.")
    p("")
    out.extend(checks)
    p("")
    p("Spread and noise (load1 at each run's start; busy CPU-seconds of the whole machine during a run")
    p("next to both servers' CPU-seconds, A + B):")
    p("")
    p("| system | A → B TLS | size | sessions | relayed msg/s min–max | load1 min–max | machine busy s / servers CPU s (A + B), median |")
    p("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for (lab, tls, size, s), rs in sorted(cells.items()):
        lo, hi = rng(rs, "e2e_msg_s"); l_lo, l_hi = rng(rs, "load1")
        p("| %s | %s | %s | %d | %s–%s | %s–%s | %s / %s (%s + %s) |" % (lab, tls, size_name(size), s, f(lo), f(hi),
            f(l_lo, 2), f(l_hi, 2), f(med(rs, "sys_busy_s"), 2), f(med(rs, "cpu_s"), 2), f(med(rs, "cpu_a_s"), 2),
            f(med(rs, "cpu_b_s"), 2)))
    p("")
q = {}
if os.path.exists(qtsv):
    for r in csv.DictReader(open(qtsv), delimiter="\t"):
        q[r["what"]] = (r["value"], r["load1"])
if q:
    g = lambda k: q.get(k, ("n/a", ""))[0]
    def mb(k):
        try: return "%.0f MB" % (int(g(k)) / 1024)
        except ValueError: return "n/a"
    def sec(k):
        try: return float(g(k))
        except ValueError: return NAN
    p("## Deferred queue: %s messages" % E["QUEUE_N"])
    p("")
    p("A (cloudsdial) with its route pointing at a closed loopback port: %s 1 KiB messages submitted by" % E["QUEUE_N"])
    p("smtp-source (20 sessions, connection reuse) at %s msg/s; every one deferred once after %s s (first_retry 1h)," % (
        g("submit_msg_s"), g("all_deferred_s")))
    p("%s `status=deferred` log lines, %s .env files in active/ (each with its .msg), %s MB on disk. Restart = exec of `serve` until its" % (
        g("deferred_lines"), g("queue_env_files"), g("queue_dir_MB")))
    p("`cloudsdial: ready` line (queue loaded and scheduled, control socket and listeners up).")
    p("")
    p("| measurement | value | target |")
    p("| --- | ---: | --- |")
    rss_vals = []
    for k, what in (("rss_kb_after_submit", "RSS after submitting and deferring all (PSS %s)" % mb("pss_kb_after_submit")),
                    ("restart_warm_rss_kb", "RSS after the restart (PSS %s)" % mb("restart_warm_pss_kb")),
                    ("restart_cold_rss_kb", "RSS after the cold restart (PSS %s)" % mb("restart_cold_pss_kb"))):
        try: rss_vals.append(int(g(k)) / 1024)
        except ValueError: pass
        p("| %s | %s | ≤ 200 MB |" % (what, mb(k)))
    for k, what in (("restart_warm", "restart to ready, page cache warm"),
                    ("restart_cold", "restart to ready, queue files' pages dropped (fadvise)")):
        t = sec(k + "_ready_s")
        p("| %s (%s messages resumed) | %s s | ≤ 5 s: %s |" % (what, g(k + "_resumed_msgs"), f(t, 2),
            "n/a" if math.isnan(t) else ("met" if t <= 5 else "**not met**")))
    if rss_vals:
        p("")
        p("Memory target (≤ 200 MB): %s (largest RSS %.0f MB)." % ("met" if max(rss_vals) <= 200 else "**not met**", max(rss_vals)))
    p("")
p("Conditions: %s; data on %s; load average (1/5/15) at start %s, after the relay runs %s, at end %s; load wait: %s." % (
    E["R_HOST"], E["R_FS"], E["LOAD_START"], E["LOAD_MID"], E["LOAD_END"], E["LOAD_NOTE"]))
p("cloudsdial: %s (`%s`), log_level info; after the runs A %s, B %s; %s warn/error log lines, %s deferrals (A)." % (
    E["R_GIT"], E["BIN"], E["MEM_A"], E["MEM_B"], E["WARN_LINES"], E["DEFERRED_LINES"]))
p("Postfix: two private instances (temp dir), stock process limits; B delivers with virtual(8) to a Maildir.")
p("Raw per-run rows: `%s`." % os.path.basename(tsv))
open(report, "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
echo
echo "report: $REPORT"
echo "raw:    $TSV"
