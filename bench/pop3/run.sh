#!/bin/bash
# bench/pop3/run.sh - our POP3 server beside the peer Dovecot, in the same run (issue 15,
# "Benchmark"): STAT, LIST, UIDL and RETR of a 1,000-message maildrop with 1 and 20
# clients, and memory per idle POP3 session.
#
# usage: bench/pop3/run.sh [options] CLOUDSDIAL_BINARY   (a Release build)
#   -n N        messages in each benchmark maildrop (IMAP APPEND fill)   (default 1000)
#   -r R        runs per client count; median                           (default 3)
#   -c CLIENTS  parallel client counts                                  (default "1 20")
#   -i COUNTS   idle logged-in POP3 sessions, one test per count        (default "1000")
#   -q          quick mode: -n 100 -r 1 -i 100 (a smoke test, figures are noisy)
#   -O          ours only: no Dovecot
#   -P          the peer only: no cloudsdial (CLOUDSDIAL_BINARY may then be omitted)
#   -W LOAD     first wait until the 1-min load average is below LOAD (30 s polls, at most
#               -T minutes, default 40; then measure anyway, and say so)
#   -o DIR      where the report goes                                   (default <repo>/bench/results)
#   -D DIR      parent of the temp dir                                  (default ${TMPDIR:-/var/tmp})
#   -k          keep the temp dir (config, server log, raw output)
#
# One maildrop per client: client k of C logs in as user<k> (user1..user20), each filled
# to -n messages, on both servers (RFC 1939 §4 lets a server lock a maildrop exclusively,
# and ours does: a second session gets -ERR [IN-USE]). per_client_users.py runs
# ../shared/peers/pop3-load.py that way.
# Ours: `cloudsdial serve` from a temp data dir, [pop3] listen on 127.0.0.1:0 (plaintext)
# and [imap] listen on 127.0.0.1:0 for the fill, [auth] plaintext_on_loopback = true, no
# failure delay, connection limits above the largest -i count; users user1..user20 and
# idle1..idleN (password testpass) made by `cloudsdial user add`. The script stops with a
# clear message if the binary has no POP3 server ("[pop3]" refused, or no
# "listening on 127.0.0.1:PORT (pop3)" line).
# Dovecot: the shared peer (start-peers.sh; POP3 127.0.0.1:${POP3_PORT:-11110}, IMAP
# ${IMAP_PORT:-11143} for the fill), restarted from an override config that raises
# `service pop3 { process_limit }` and `service stats { client_limit }`; user1..user20's
# Maildirs are deleted first; put back at the end (bench/lib/peer_bench.sh, as bench/imap).
#
# Order: the idle test first, on empty maildrops on both servers (ours: idle1..idleN, one
# user per session; Dovecot: user1..user20 round robin, it does not lock), ours restarted
# before it; then the fill; then per client count and run, one pop3-load.py invocation per
# system, alternating which system goes first run by run.
# Idle: `idle-conns.py --proto pop3` opens N sessions (greeting, USER, PASS; 50 in
# flight), holds them 10 s, checks each answers NOOP; memory = PSS (RSS) growth of the
# server's process tree per session.
#
# Output: bench/results/pop3-<stamp>.md (the table, targets met or not, machine load) and
# pop3-<stamp>.jsonl (every pop3-load record plus the idle results).
# Loopback only; builds and downloads nothing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PEERS=${PEERS:-$REPO/../shared/peers}
PEER_ROOT=${PEER_ROOT:-/var/tmp/cloudsdial-peers}; export PEER_ROOT
DC_PORT=${POP3_PORT:-11110}; DC_IMAP_PORT=${IMAP_PORT:-11143}
PY=/usr/bin/python3

FILL=1000; RUNS=3; CLIENTS="1 20"; IDLE="1000"; BUSER=user1
OURS_ONLY=0; PEER_ONLY=0; LOAD_MAX=""; LOAD_WAIT_MIN=40; HOLD=10
OUTDIR=$REPO/bench/results; TMPBASE=${TMPDIR:-/var/tmp}; KEEP=0
usage() { sed -n '2,44p' "$0"; exit 2; }
OPTIND=1
while getopts "n:r:c:i:qOPW:T:o:D:kh" o; do
  case $o in
    n) FILL=$OPTARG;; r) RUNS=$OPTARG;; c) CLIENTS=$OPTARG;; i) IDLE=$OPTARG;;
    q) FILL=100; RUNS=1; IDLE=100; HOLD=3;;
    O) OURS_ONLY=1;; P) PEER_ONLY=1;; W) LOAD_MAX=$OPTARG;; T) LOAD_WAIT_MIN=$OPTARG;;
    o) OUTDIR=$OPTARG;; D) TMPBASE=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ "$OURS_ONLY" = 1 ] && [ "$PEER_ONLY" = 1 ] && { echo "pop3: -O and -P exclude each other" >&2; exit 2; }
BIN=""
if [ "$PEER_ONLY" = 0 ]; then
  [ $# -eq 1 ] || usage
  BIN=$(realpath "$1")
  [ -x "$BIN" ] || { echo "pop3: $1 is not an executable" >&2; exit 2; }
else
  [ $# -le 1 ] || usage
fi
for f in pop3-load.py idle-conns.py proctree.py start-peers.sh; do
  [ -f "$PEERS/$f" ] || { echo "pop3: no $f in $PEERS (set PEERS=)" >&2; exit 2; }
done
if [ "$OURS_ONLY" = 0 ]; then
  command -v dovecot >/dev/null || { echo "pop3: dovecot missing (../shared/peers/setup-peers.sh, or -O)" >&2; exit 2; }
fi
CMAX=0; for c in $CLIENTS; do [ "$c" -gt "$CMAX" ] && CMAX=$c; done
[ "$CMAX" -le 20 ] || { echo "pop3: at most 20 clients (one maildrop each, user1..user20)" >&2; exit 2; }
IDLE_MAX=0; for n in $IDLE; do [ "$n" -gt "$IDLE_MAX" ] && IDLE_MAX=$n; done
CONN_LIMIT=$((IDLE_MAX + 1000))

NAME=pop3; PROTO=pop3
. "$HERE/../lib/peer_bench.sh"

# ------------------------------------------------------------------ ours
ours_config() {  # our TOML: peer_bench.sh's, with the protocol sections below
  ours_toml "$(cat <<EOC
[imap]
listen = ["127.0.0.1:0"]
tls_listen = []

[pop3]
listen = ["127.0.0.1:0"]
tls_listen = []
max_connections = $CONN_LIMIT
max_connections_per_ip = $CONN_LIMIT
EOC
)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_load

# ------------------------------------------------------------------ helpers
imap_port_of() { if [ "$1" = cloudsdial ]; then ours_port imap; else echo "$DC_IMAP_PORT"; fi; }
# fill SYSTEM: APPEND user1..user$CMAX's INBOX up to $FILL messages, 4 users at a time
fill() {
  local sys=$1 u i pids="" t0 t1
  t0=$(date +%s.%N)
  for i in $(seq 1 "$CMAX"); do
    u=user$i
    $PY "$PEERS/pop3-load.py" --port "$(port_of "$sys")" --user "$u" --password testpass --fill "$FILL" \
      --fill-via "imap:$(imap_port_of "$sys")" --clients 1 --runs 1 --retr 0 \
      >"$WORK/fill-$sys-$u.txt" 2>&1 &
    pids="$pids $!"
    if [ $((i % 4)) = 0 ] || [ "$i" = "$CMAX" ]; then
      for p in $pids; do wait "$p" || { echo "pop3: $sys fill failed:" >&2; cat "$WORK"/fill-"$sys"-*.txt >&2; exit 1; }; done
      pids=""
    fi
  done
  t1=$(date +%s.%N)
  grep -h '^fill' "$WORK"/fill-"$sys"-*.txt | head -1 | sed "s/^/$sys user1: /"
  echo "{\"system\": \"$sys\", \"phase\": \"fill\", \"users\": $CMAX, \"msgs\": $((CMAX * FILL)), \"wall_s\": $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')}" >>"$JSONL"
}
# load_run SYSTEM CLIENTS RUN: C clients, client k on user(k+1)'s maildrop
load_run() {
  local sys=$1 c=$2 run=$3 out=$WORK/load-$1-$2-$3
  $PY "$HERE/per_client_users.py" "$PEERS" "user%d" 1 --port "$(port_of "$sys")" --user "$BUSER" --password testpass \
    --clients "$c" --runs 1 --retr "$FILL" --server-pid "$(pid_of "$sys")" --label "$sys" --json "$out.jsonl" \
    >"$out.txt" 2>&1 || { echo "pop3: $sys, $c clients, run $run failed:" >&2; cat "$out.txt" >&2; exit 1; }
  tag "$out.jsonl" "$sys" "$run"
  grep '^clients=' "$out.txt" | sed "s/^/$sys /"
}
# ours_idle_users: idle1..idle$IDLE_MAX (one maildrop per session: ours locks it)
ours_idle_users() {
  local i
  for i in $(seq 1 "$IDLE_MAX"); do
    echo testpass | "$BIN" user add "idle$i" --config "$OURS_DIR/cloudsdial.toml" >>"$OURS_DIR/user-add.log" 2>&1 ||
      { echo "pop3: cloudsdial user add idle$i failed:" >&2; tail -5 "$OURS_DIR/user-add.log" >&2; exit 1; }
  done
}
idle_users() { if [ "$1" = cloudsdial ]; then echo "idle%d:1-$2"; else echo "user%d:1-20"; fi; }

# ------------------------------------------------------------------ run
SYSTEMS=""
if [ "$PEER_ONLY" = 0 ]; then
  log "cloudsdial: start (user1..user20, idle1..idle$IDLE_MAX)"
  ours_setup
  ours_idle_users
  ours_start
  SYSTEMS="cloudsdial"
fi
if [ "$OURS_ONLY" = 0 ]; then
  log "dovecot: start-peers.sh, then restart with the raised limits (user1..user$CMAX's Maildirs emptied)"
  dc_start $(for i in $(seq 1 20); do echo "user$i"; done)
  SYSTEMS="$SYSTEMS dovecot"
fi
SYSTEMS=${SYSTEMS# }
set -- $SYSTEMS
first=$1; second=${2:-}

# idle sessions first, on empty maildrops
[ "$OURS_ONLY" = 0 ] && DC_PROCS0=$(nprocs)
for n in $IDLE; do
  log "$n idle POP3 sessions${OURS_PID:+ (cloudsdial restarted first)}"
  if [ -n "$OURS_PID" ]; then
    cp "$OURS_DIR/cloudsdial.log" "$OURS_DIR/cloudsdial.log.idle$n"
    ours_stop; ours_start
  fi
  idle_run "$first" "$n" --users "$(idle_users "$first" "$n")"; settle "$first"
  if [ -n "$second" ]; then
    idle_run "$second" "$n" --users "$(idle_users "$second" "$n")"; settle "$second"
    t=$first; first=$second; second=$t
  fi
done

for s in $SYSTEMS; do
  log "$s: fill user1..user$CMAX to $FILL messages each (IMAP APPEND)"
  fill "$s"
done

for c in $CLIENTS; do
  for run in $(seq 1 "$RUNS"); do
    log "$c client(s), run $run"
    load_run "$first" "$c" "$run"
    if [ -n "$second" ]; then
      load_run "$second" "$c" "$run"
      t=$first; first=$second; second=$t
    fi
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

OURS_MEM="n/a"; WARN_LINES="n/a"; DC_WARN="n/a"
if [ -n "$OURS_PID" ]; then
  OURS_MEM=$($PY "$PEERS/proctree.py" mem "$OURS_PID" || true); OURS_MEM=${OURS_MEM%%$'\n'*}
  WARN_LINES=$(cat "$OURS_DIR"/cloudsdial.log* | grep -cE ' (warn|error)' || true)
fi
[ "$OURS_ONLY" = 0 ] && dc_warnings

# ------------------------------------------------------------------ report
export FILL RUNS LOAD_NOTE LOAD_START LOAD_END NOFILE CONN_LIMIT HOLD OURS_MEM=${OURS_MEM:-n/a} WARN_LINES DC_WARN
export DC_WARN_TEXT=$(head -5 "$WORK/dovecot/warnings.txt" 2>/dev/null | cut -c1-200 || true)
report_env
export BIN=${BIN:-none (-P)}
PYTHONPATH="$REPO/bench/lib${PYTHONPATH:+:$PYTHONPATH}" $PY - "$JSONL" "$REPORT" <<'EOP'
import math, os, sys
from report_common import NAN, cells_of, connection_errors, dovecot_warn_suffix, idle_established, idle_kb, med, ms, num, read_records, targets_verdict
E = os.environ
jsonl, report = sys.argv[1:3]
recs = read_records(jsonl)
load = [r for r in recs if r["phase"] not in ("idle", "fill")]
idle = [r for r in recs if r["phase"] == "idle"]
fills = [r for r in recs if r["phase"] == "fill"]
cells = cells_of(load)
# (phase, what, has a target: faster than Dovecot)
ROWS = [("stat", "STAT", True), ("list", "LIST (%s messages)" % E["FILL"], True),
        ("uidl", "UIDL (%s messages)" % E["FILL"], True), ("retr", "RETR 1..%s, one command each" % E["FILL"], True),
        ("login", "connect + USER/PASS", False), ("quit", "QUIT", False)]
clients = sorted({r["clients"] for r in load})
systems = sorted({r["system"] for r in recs})
both = "dovecot" in systems and "cloudsdial" in systems
out = []; p = out.append
p("# POP3: cloudsdial vs Dovecot, %s" % E["R_DATE"])
p("")
p("Each client has its own maildrop of %s mailgen messages (mean ~7.7 KB; user1..userC, filled by IMAP APPEND) on" % E["FILL"])
p("each server; each run is one `pop3-load.py` invocation (through `bench/pop3/per_client_users.py`), C clients in")
p("lock-step. Time = wall time of the phase over all clients; median of %s run(s); the systems alternate run by run." % E["RUNS"])
p("Speed-up = Dovecot time / ours. RETR msg/s counts every client's messages.")
p("")
misses = []
if load:
    p("| operation | clients | ours ms | Dovecot ms | **speed-up** | RETR msg/s ours / Dovecot | server CPU ms ours / Dovecot | load1 at runs | target |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for c in clients:
        for ph, what, target in ROWS:
            o = cells.get(("cloudsdial", ph, c), []); d = cells.get(("dovecot", ph, c), [])
            if not o and not d:
                continue
            to, td = med(o, "wall_s"), med(d, "wall_s")
            sp = td / to if o and d and to > 0 else NAN
            rate = "%s / %s" % (num(med(o, "msg_s"), 0) if o else "—", num(med(d, "msg_s"), 0) if d else "—") if ph == "retr" else ""
            loads = ", ".join("%.1f" % r["load1"] for r in sorted(o + d, key=lambda r: (r["run"], r["system"])))
            if not target or not both:
                tg = "—"
            else:
                ok = sp > 1
                tg = "faster: " + ("met" if ok else "**not met**")
                if not ok:
                    misses.append("%s, %d client(s): %.2f× (target > 1×)" % (what, c, sp))
            p("| %s | %d | %s | %s | **%s** | %s | %s / %s | %s | %s |" % (
                what, c, ms(to) if o else "—", ms(td) if d else "—", "n/a" if math.isnan(sp) else "%.2f×" % sp, rate,
                ms(med(o, "server_cpu_s")) if o else "—", ms(med(d, "server_cpu_s")) if d else "—", loads, tg))
    p("")
if fills:
    p("Fill (no target): " + "; ".join("%s %d messages into %d maildrops in %.1f s" % (
        r["system"], r["msgs"], r["users"], r["wall_s"]) for r in fills) + ".")
    p("")
if idle:
    p("## Idle logged-in sessions")
    p("")
    p("`idle-conns.py --proto pop3`: N sessions (greeting, USER, PASS) on empty maildrops, held %s s, then NOOP on" % E["HOLD"])
    p("each. Ours: one user per session (idle1..idleN, it locks maildrops); Dovecot: user1..user20 round robin. Memory per")
    p("session = growth of the server's process tree (PSS; RSS in brackets). Ours is restarted before each test.")
    p("")
    p("| sessions | ours: established / NOOP ok | Dovecot: established / NOOP ok | ours KB/session PSS (RSS) | Dovecot KB/session PSS (RSS) | **Dovecot / ours** | target ≤ 1/10 |")
    p("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    by = {(r["system"], r["count"]): r for r in idle}
    for n in sorted({r["count"] for r in idle}):
        o = by.get(("cloudsdial", n)); d = by.get(("dovecot", n))
        ratio = (d["pss_kb_per_conn"] / o["pss_kb_per_conn"]) if o and d and o["pss_kb_per_conn"] and o["pss_kb_per_conn"] > 0 and d["pss_kb_per_conn"] else NAN
        goal = "—"
        if o and d:
            goal = "met" if ratio >= 10 else "**not met**"
            if ratio < 10 or math.isnan(ratio):
                misses.append("idle memory at %d sessions: Dovecot / ours = %s (target ≥ 10)" % (n, num(ratio, 1)))
        p("| %d | %s | %s | %s | %s | **%s** | %s |" % (n, idle_established(o, n), idle_established(d, n), idle_kb(o), idle_kb(d), "n/a" if math.isnan(ratio) else "%.1f×" % ratio, goal))
    connection_errors(p, idle)
    p("")
p("## Targets (issue 15)")
p("")
p("Faster than Dovecot on every row (STAT, LIST, UIDL, RETR; 1 and 20 clients; Dovecot here: RETR 7.1k msg/s with")
p("1 client, 17k with 20), memory per session ≤ 1/10 of Dovecot's.")
p("")
targets_verdict(p, both, misses, "One system only (%s): no comparison." % ", ".join(systems))
p("")
p("Conditions: %s; ours' data on %s, Dovecot's (%s, peer config + `service pop3 { process_limit = %s }`) on %s;" % (
    E["R_HOST"], E["R_FS"], E["R_DOVECOT"], E["CONN_LIMIT"], E["R_DCFS"]))
p("ulimit -n %s; load average (1/5/15) at start %s, at end %s; load wait: %s." % (E["NOFILE"], E["LOAD_START"], E["LOAD_END"], E["LOAD_NOTE"]))
p("cloudsdial: %s (`%s`), log_level info; at the end %s; %s warn/error log lines. Dovecot: %s warning/error log lines%s." % (
    E["R_GIT"], E["BIN"], E["OURS_MEM"], E["WARN_LINES"], E["DC_WARN"], dovecot_warn_suffix(E)))
p("Raw records (pop3-load.py JSON plus the idle results): `%s`." % os.path.basename(jsonl))
open(report, "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOP
echo
echo "report: $REPORT"
echo "raw:    $JSONL"
