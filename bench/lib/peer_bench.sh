# bench/lib/peer_bench.sh - what bench/imap/run.sh and bench/pop3/run.sh share: our
# `cloudsdial serve` from a temp data dir (users user1..user20, password testpass), the
# shared peer Dovecot restarted from an override config with raised limits and put back
# afterwards, the load-average wait, JSON tagging, and the idle-connection test.
# Sourced, not run. The caller sets, before sourcing:
#   NAME      prefix of messages ("imap", "pop3")
#   PROTO     the protocol under test: ours' listener "(PROTO)" and Dovecot's service PROTO
#   PY PEERS PEER_ROOT BIN KEEP CONN_LIMIT DC_PORT BUSER LOAD_MAX LOAD_WAIT_MIN HOLD
#   IDLE_MAX  the most idle connections a test opens (`ulimit -n` must allow it + 200)
#   OUTDIR TMPBASE  where the report and the temp dir go
# and defines ours_config (prints our TOML; it uses $OURS_DIR). Functions exit on failure.
# Sourcing raises `ulimit -n` (exits 2 if it stays too low) and sets STAMP, REPORT
# ($OUTDIR/$NAME-$STAMP.md), JSONL (created empty) and WORK (a new temp dir in $TMPBASE).

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
if [ "$NOFILE" -lt $((IDLE_MAX + 200)) ]; then
  echo "$NAME: ulimit -n is $NOFILE (hard $(ulimit -Hn)): too low for $IDLE_MAX connections" >&2; exit 2
fi

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/$NAME-$STAMP.md
JSONL=$OUTDIR/$NAME-$STAMP.jsonl
: >"$JSONL"
WORK=$(mktemp -d "$TMPBASE/cloudsdial-$NAME.XXXXXX")
chmod 755 "$WORK"

log() { echo "=== $* ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$WORK/steps.log"; }

# ------------------------------------------------------------------ ours
# serve_start, serve_stop: bench/lib/serve.sh
. "$(dirname "${BASH_SOURCE[0]}")/serve.sh"
OURS_PID=""; OURS_PORT=""
OURS_DIR=$WORK/ours
# ours_lacks_proto LOG: exit with a clear message if LOG shows the binary refusing [$PROTO]
ours_lacks_proto() {
  if grep -q "$PROTO: unknown key" "$1"; then
    echo "$NAME: this cloudsdial ($BIN) has no $PROTO server: its configuration refuses [$PROTO]:" >&2
    grep "$PROTO: unknown key" "$1" | head -1 >&2; exit 1
  fi
}
ours_setup() {  # config and users user1..user20 (password testpass)
  local i
  mkdir -p "$OURS_DIR"
  ours_config >"$OURS_DIR/cloudsdial.toml"
  for i in $(seq 1 20); do
    echo testpass | "$BIN" user add "user$i" --config "$OURS_DIR/cloudsdial.toml" >>"$OURS_DIR/user-add.log" 2>&1 ||
      { ours_lacks_proto "$OURS_DIR/user-add.log"; echo "$NAME: cloudsdial user add user$i failed:" >&2; cat "$OURS_DIR/user-add.log" >&2; exit 1; }
  done
}
# ours_toml SECTIONS: prints our TOML (for ours_config): hostname mx.example.test, data
# in $OURS_DIR/data, SMTP on 127.0.0.1:0 only, SECTIONS (the protocol's own), plaintext
# login on loopback without failure delay, domain example.test
ours_toml() {
  cat <<EOF
# written by bench/$NAME/run.sh
[server]
hostname = "mx.example.test"
data_dir = "$OURS_DIR/data"
log_level = "info"
shutdown_timeout = "10s"

[smtp]
listen = ["127.0.0.1:0"]
submission_listen = []
submissions_listen = []

$1

[auth]
plaintext_on_loopback = true
failure_delay = "0s"
failure_delay_max = "0s"

[domains]
local = ["example.test"]
EOF
}
# ours_port PROTO: the port of our first "listening on 127.0.0.1:PORT (PROTO)" log line
ours_port() {
  sed -n 's/^[a-z0-9]*: listening on 127\.0\.0\.1:\([0-9]*\) ('"$1"')$/\1/p' "$OURS_DIR/cloudsdial.log" | head -1
}
ours_start() {  # serve, wait for "ready"; sets OURS_PID, OURS_PORT (the $PROTO listener)
  local ready=0
  serve_start "$BIN" "$OURS_DIR/cloudsdial.toml" "$OURS_DIR/cloudsdial.log" && ready=1
  OURS_PID=$SERVE_PID
  ours_lacks_proto "$OURS_DIR/cloudsdial.log"
  OURS_PORT=$(ours_port "$PROTO")
  if [ -z "$OURS_PORT" ] || [ "$ready" = 0 ]; then
    echo "$NAME: cloudsdial did not start with a $PROTO listener; its log:" >&2; cat "$OURS_DIR/cloudsdial.log" >&2; exit 1
  fi
  echo "cloudsdial: pid $OURS_PID, $PROTO 127.0.0.1:$OURS_PORT"
}
ours_stop() {
  [ -n "$OURS_PID" ] || return 0
  serve_stop "$OURS_PID" "$NAME: cloudsdial"
  OURS_PID=""
}

# ------------------------------------------------------------------ the peer Dovecot
DC=$PEER_ROOT/dovecot; PF=$PEER_ROOT/postfix
DC_PIDFILE=$DC/run/master.pid
DC_CONF=$WORK/dovecot/dovecot.conf
DC_WAS_RUNNING=0; PF_WAS_RUNNING=0; DC_OURS=0; PEERS_STARTED=0
alive() { [ -s "$1" ] && kill -0 "$(head -1 "$1" | tr -d ' ')" 2>/dev/null; }
dc_pid() { head -1 "$DC_PIDFILE" | tr -d ' '; }
stop_tree() {  # PIDFILE: SIGTERM to the master, wait for its whole tree (PIDs taken before)
  local f=$1 pid tree p left=""
  alive "$f" || return 0
  pid=$(head -1 "$f" | tr -d ' ')
  tree=$($PY "$PEERS/proctree.py" pids "$pid" 2>/dev/null || echo "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    left=""; for p in $tree; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
}
wait_listen() {  # PORT
  for _ in $(seq 1 200); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.1; done
  return 1
}
# dc_start [USER...]: start-peers.sh, then restart Dovecot from an override config with
# `service $PROTO { process_limit }` and `service stats { client_limit }` at $CONN_LIMIT,
# after deleting the given users' Maildirs (fresh state)
dc_start() {
  local u
  alive "$DC_PIDFILE" && DC_WAS_RUNNING=1
  alive "$PF/spool/pid/master.pid" && PF_WAS_RUNNING=1
  # setup (users, configs) and start; output to a file: the daemons inherit it
  PEERS_STARTED=1
  "$PEERS/start-peers.sh" >"$WORK/start-peers.log" 2>&1 ||
    { echo "$NAME: start-peers.sh failed:" >&2; cat "$WORK/start-peers.log" >&2; exit 1; }
  mkdir -p "$WORK/dovecot"
  cat >"$DC_CONF" <<EOC
# written by bench/$NAME/run.sh: the peer Dovecot (setup-peers.sh's config) with room for
# $CONN_LIMIT logged-in $PROTO sessions (one $PROTO process each, each a stats-writer client)
!include $DC/dovecot.conf
service $PROTO {
  process_limit = $CONN_LIMIT
}
service stats {
  client_limit = $CONN_LIMIT
}
EOC
  doveconf -c "$DC_CONF" -n >"$WORK/dovecot/doveconf-n.txt" 2>"$WORK/dovecot/doveconf-warnings.txt" ||
    { cat "$WORK/dovecot/doveconf-warnings.txt" >&2; exit 1; }
  stop_tree "$DC_PIDFILE"
  DC_OURS=1
  for u in "$@"; do rm -rf "$PEER_ROOT/home/$u/Maildir"; done
  DC_LOG_LINE0=$(wc -l <"$DC/log/dovecot.log" 2>/dev/null || echo 0)
  dovecot -c "$DC_CONF" </dev/null >"$WORK/dovecot/start.log" 2>&1 ||
    { echo "$NAME: dovecot did not start:" >&2; cat "$WORK/dovecot/start.log" >&2; exit 1; }
  wait_listen "$DC_PORT" || { echo "$NAME: dovecot not listening on $DC_PORT" >&2; tail -20 "$DC/log/dovecot.log" >&2; exit 1; }
  echo "dovecot: master pid $(dc_pid), $PROTO 127.0.0.1:$DC_PORT (limits: $PROTO process_limit $CONN_LIMIT)"
}
dc_restore() {
  [ "$PEERS_STARTED" = 1 ] || return 0
  if [ "$DC_OURS" = 1 ]; then
    stop_tree "$DC_PIDFILE"
    if [ "$DC_WAS_RUNNING" = 1 ]; then
      dovecot -c "$DC/dovecot.conf" </dev/null >/dev/null 2>&1 && echo "$NAME: peer Dovecot restarted from its own config"
    fi
  elif [ "$DC_WAS_RUNNING" = 0 ]; then
    stop_tree "$DC_PIDFILE"
  fi
  [ "$PF_WAS_RUNNING" = 0 ] && stop_tree "$PF/spool/pid/master.pid"
  PEERS_STARTED=0
}
# Dovecot's warning/error log lines since dc_start: sets DC_WARN, writes the last 20 to
# $WORK/dovecot/warnings.txt
dc_warnings() {
  DC_WARN=$(tail -n +"$((DC_LOG_LINE0 + 1))" "$DC/log/dovecot.log" | grep -ciE 'warning|error|fatal|panic' || true)
  tail -n +"$((DC_LOG_LINE0 + 1))" "$DC/log/dovecot.log" | grep -iE 'warning|error|fatal|panic' | tail -20 \
    >"$WORK/dovecot/warnings.txt" || true
}

cleanup() {
  ours_stop
  dc_restore
  if [ "$KEEP" = 1 ]; then echo "$NAME: kept $WORK"; else rm -rf "$WORK"; fi
}

# ------------------------------------------------------------------ load
# wait_load: bench/lib/wait_load.sh (its messages start with $NAME)
. "$(dirname "${BASH_SOURCE[0]}")/wait_load.sh"

# ------------------------------------------------------------------ helpers
port_of() { if [ "$1" = cloudsdial ]; then echo "$OURS_PORT"; else echo "$DC_PORT"; fi; }
pid_of() { if [ "$1" = cloudsdial ]; then echo "$OURS_PID"; else dc_pid; fi; }
# tag FILE SYSTEM RUN: append FILE's JSON records to $JSONL with system, run and load1
tag() {
  $PY - "$1" "$2" "$3" "$(cut -d' ' -f1 /proc/loadavg)" "$JSONL" <<'EOP'
import json, sys
src, system, run, load1, dst = sys.argv[1:]
with open(dst, "a") as out:
    for line in open(src):
        r = json.loads(line)
        r.update(system=system, run=int(run), load1=float(load1))
        out.write(json.dumps(r) + "\n")
EOP
}
# idle_run SYSTEM COUNT [idle-conns.py options...]: `idle-conns.py --proto $PROTO`, one
# JSON record (phase "idle") appended to $JSONL
idle_run() {
  local sys=$1 n=$2 out=$WORK/idle-$1-$2 pid
  shift 2
  pid=$(pid_of "$sys")
  $PY "$PEERS/idle-conns.py" --proto "$PROTO" --port "$(port_of "$sys")" --count "$n" --password testpass \
    --server-pid "$pid" --hold "$HOLD" "$@" >"$out.txt" 2>&1 ||
    { echo "$NAME: $sys, $n idle connections failed:" >&2; cat "$out.txt" >&2; exit 1; }
  sed "s/^/$sys /" "$out.txt" | grep -E 'opened in|still answer|server RSS'
  $PY - "$out.txt" "$sys" "$n" "$(cut -d' ' -f1 /proc/loadavg)" "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)" >>"$JSONL" <<'EOP'
import json, re, sys
path, system, n, load1, alive = sys.argv[1:]
t = open(path).read()
def num(pat, cast=float):
    m = re.search(pat, t)
    return cast(m.group(1)) if m else None
rec = {"system": system, "phase": "idle", "count": int(n), "load1": float(load1), "server_alive": alive == "1",
       "open_s": num(r"opened in ([\d.]+)s"), "ok": num(r"ok=(\d+)", int),
       "no_greeting": num(r"no_greeting=(\d+)", int), "failed": num(r" failed=(\d+)", int),
       "connect_failed": num(r"connect_failed=(\d+)", int), "noop_ok": num(r": (\d+) of \d+ still answer", int),
       "rss_kb_per_conn": num(r"server RSS\s+\+?(-?[\d.]+) KB"), "pss_kb_per_conn": num(r"server PSS\s+\+?(-?[\d.]+) KB"),
       "procs_per_conn": num(r"processes \+?(-?[\d.]+)"),
       "errors": (re.search(r"errors: (.*)", t).group(1)[:300] if re.search(r"errors: (.*)", t) else None)}
for tag in ("before", "open", "after_hold", "closed"):
    m = re.search(r"^%s\s+procs=(\d+)\s+rss=\s*([\d.]+) MB\s+pss=\s*([\d.]+) MB" % tag, t, re.M)
    if m:
        rec[tag] = {"procs": int(m.group(1)), "rss_MB": float(m.group(2)), "pss_MB": float(m.group(3))}
print(json.dumps(rec))
EOP
  kill -0 "$pid" 2>/dev/null || echo "$NAME: $sys (pid $pid) died during the idle test" >&2
}
# settle SYSTEM: until Dovecot's process count is back at its level before the idle test
# (its per-session processes exit after the QUIT/LOGOUT), at most 120 s; needs DC_PROCS0
nprocs() { $PY "$PEERS/proctree.py" pids "$(dc_pid)" | wc -w; }
settle() {
  [ "$1" = cloudsdial ] && return 0
  for _ in $(seq 1 240); do
    [ "$(nprocs)" -le $((DC_PROCS0 + 2)) ] && return 0
    sleep 0.5
  done
}
# report_env: the machine/run description both reports print (exported for their Python)
report_env() {
  export R_GIT="repo HEAD $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), binary built $(if [ -e "${BIN:-}" ]; then date -r "$BIN" '+%Y-%m-%d %H:%M'; else echo n/a; fi)"
  export R_FS=$(df -T "$WORK" | awk 'NR==2{print $2 " on " $1}')
  export R_DCFS=$(df -T "$PEER_ROOT" 2>/dev/null | awk 'NR==2{print $2 " on " $1}')
  export R_HOST="$(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  export R_DOVECOT=$(dovecot --version 2>/dev/null || echo '?')
  export R_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
}
