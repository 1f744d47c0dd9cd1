#!/bin/bash
# bench/imap/run.sh - our IMAP server beside the peer Dovecot, in the same run (issue 14,
# "Benchmark"): a large mailbox with 1 and 20 clients, and memory per idle connection.
#
# usage: bench/imap/run.sh [options] CLOUDSDIAL_BINARY   (a Release build)
#   -n N        messages in the benchmark INBOX (APPEND fill)       (default 10000)
#   -r R        runs per client count; median                       (default 3)
#   -c CLIENTS  parallel client counts                              (default "1 20")
#   -b N        bodies per UID FETCH range / single UID FETCHes     (default 1000)
#   -i COUNTS   idle authenticated connections, one test per count  (default "1000 10000")
#   -f K        parallel APPEND clients for the fill                (default 4)
#   -u USER     the benchmark user (same name on both servers)      (default user2)
#   -q          quick mode: -n 500 -r 1 -b 100 -i 200 (a smoke test, figures are noisy)
#   -O          ours only: no Dovecot
#   -W LOAD     first wait until the 1-min load average is below LOAD (30 s polls, at most
#               -T minutes, default 40; then measure anyway, and say so)
#   -o DIR      where the report goes                               (default <repo>/bench/results)
#   -D DIR      parent of the temp dir                              (default ${TMPDIR:-/var/tmp})
#   -k          keep the temp dir (config, server log, raw output)
#
# Ours: `cloudsdial serve` from a temp data dir, [imap] listen on 127.0.0.1:0 (plaintext,
# no implicit TLS listener), connection limits above the largest -i count,
# [auth] plaintext_on_loopback = true, no failure delay; user1..user20 with password
# testpass made by `cloudsdial user add` (SCRAM iterations 4096, the default).
# Dovecot: the shared peer (${PEERS:-<repo>/../shared/peers}/start-peers.sh, state in
# $PEER_ROOT, default /var/tmp/cloudsdial-peers, IMAP on 127.0.0.1:${IMAP_PORT:-11143}).
# start-peers.sh (re)writes its config, whose limits hold ~1000 logged-in sessions (one
# `imap` process each); this script then restarts that Dovecot from an override config
# in the temp dir that !includes the generated one and raises only
# `service imap { process_limit }` and `service stats { client_limit }` above the largest
# -i count. The benchmark user's Maildir on the peer is deleted first (fresh state, as
# run-peer-baselines.sh does), so both servers are filled by the same APPENDs. At the end
# the peer Dovecot is restarted from its own config if it was running before, else
# stopped; Postfix (started by start-peers.sh) likewise. Anyone else using the peer
# Dovecot loses their sessions at those restarts.
#
# Load: `imap-load.py` (mailgen messages, mean ~7.7 KB; see ../shared/peers/README.md)
# fills the user's INBOX to -n messages (the APPEND rate is reported, no target), then
# each run is one imap-load.py invocation with C clients in lock-step: login, SELECT,
# FETCH 1:* (FLAGS UID RFC822.SIZE), UID FETCH of -b bodies in one range, -b single
# UID FETCHes, SEARCH SUBJECT / FROM / BODY, STORE 1:* +FLAGS / -FLAGS (\Flagged),
# LOGOUT; wall time per phase over all clients, and the server's CPU (whole process
# tree). Runs alternate ours / Dovecot, and which goes first, run by run.
# Idle: `idle-conns.py --proto imap` opens N connections (greeting + LOGIN as
# user4..user20 round robin, 50 in flight), holds them 10 s, checks each answers NOOP;
# memory = PSS (and RSS) growth of the server's process tree per connection.
#
# Output: bench/results/imap-<stamp>.md (the table, targets met or not, machine load)
# and imap-<stamp>.jsonl (every imap-load record plus the idle results).
# Loopback only; builds and downloads nothing. Needs ~N x 0.5 MB of memory for Dovecot's
# N idle sessions and `ulimit -n` (hard) above N + a few hundred for both servers.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PEERS=${PEERS:-$REPO/../shared/peers}
PEER_ROOT=${PEER_ROOT:-/var/tmp/cloudsdial-peers}; export PEER_ROOT
DC_PORT=${IMAP_PORT:-11143}
PY=/usr/bin/python3

FILL=10000; RUNS=3; CLIENTS="1 20"; BODIES=1000; IDLE="1000 10000"; FILL_CLIENTS=4; BUSER=user2
OURS_ONLY=0; LOAD_MAX=""; LOAD_WAIT_MIN=40; HOLD=10
OUTDIR=$REPO/bench/results; TMPBASE=${TMPDIR:-/var/tmp}; KEEP=0
usage() { sed -n '2,51p' "$0"; exit 2; }
OPTIND=1
while getopts "n:r:c:b:i:f:u:qOW:T:o:D:kh" o; do
  case $o in
    n) FILL=$OPTARG;; r) RUNS=$OPTARG;; c) CLIENTS=$OPTARG;; b) BODIES=$OPTARG;; i) IDLE=$OPTARG;;
    f) FILL_CLIENTS=$OPTARG;; u) BUSER=$OPTARG;; q) FILL=500; RUNS=1; BODIES=100; IDLE=200; HOLD=3;;
    O) OURS_ONLY=1;; W) LOAD_MAX=$OPTARG;; T) LOAD_WAIT_MIN=$OPTARG;;
    o) OUTDIR=$OPTARG;; D) TMPBASE=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
BIN=$(realpath "$1")
[ -x "$BIN" ] || { echo "imap: $1 is not an executable" >&2; exit 2; }
for f in imap-load.py idle-conns.py proctree.py start-peers.sh; do
  [ -f "$PEERS/$f" ] || { echo "imap: no $f in $PEERS (set PEERS=)" >&2; exit 2; }
done
if [ "$OURS_ONLY" = 0 ]; then
  command -v dovecot >/dev/null || { echo "imap: dovecot missing (../shared/peers/setup-peers.sh, or -O)" >&2; exit 2; }
fi
IDLE_MAX=0; for n in $IDLE; do [ "$n" -gt "$IDLE_MAX" ] && IDLE_MAX=$n; done
CONN_LIMIT=$((IDLE_MAX + 1000))

NAME=imap; PROTO=imap
. "$HERE/../lib/peer_bench.sh"

# ------------------------------------------------------------------ ours
ours_config() {  # our TOML: peer_bench.sh's, with the protocol sections below
  ours_toml "$(cat <<EOF
[imap]
listen = ["127.0.0.1:0"]
tls_listen = []
max_connections = $CONN_LIMIT
max_connections_per_ip = $CONN_LIMIT
max_sessions_per_user_ip = 0     # the load and idle clients share a few users from one IP
EOF
)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_load

# ------------------------------------------------------------------ helpers
# fill SYSTEM: APPEND the user's INBOX up to $FILL messages (one login/select/logout run too)
fill() {
  local sys=$1 out=$WORK/fill-$1
  $PY "$PEERS/imap-load.py" --port "$(port_of "$sys")" --user "$BUSER" --password testpass --fill "$FILL" \
    --fill-clients "$FILL_CLIENTS" --clients 1 --runs 1 --ops login,select,logout --server-pid "$(pid_of "$sys")" \
    --label "$sys" --json "$out.jsonl" >"$out.txt" 2>&1 || { echo "imap: $sys fill failed:" >&2; cat "$out.txt" >&2; exit 1; }
  grep '^fill' "$out.txt" | sed "s/^/$sys /"
  $PY - "$out.jsonl" <<'EOF' >"$out.only.jsonl"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["phase"] == "append_fill":
        print(json.dumps(r))
EOF
  tag "$out.only.jsonl" "$sys" 0
}
# load_run SYSTEM CLIENTS RUN
load_run() {
  local sys=$1 c=$2 run=$3 out=$WORK/load-$1-$2-$3
  $PY "$PEERS/imap-load.py" --port "$(port_of "$sys")" --user "$BUSER" --password testpass --clients "$c" \
    --runs 1 --bodies "$BODIES" --server-pid "$(pid_of "$sys")" --label "$sys" --json "$out.jsonl" >"$out.txt" 2>&1 ||
    { echo "imap: $sys, $c clients, run $run failed:" >&2; cat "$out.txt" >&2; exit 1; }
  tag "$out.jsonl" "$sys" "$run"
  grep '^clients=' "$out.txt" | sed "s/^/$sys /"
}
# ------------------------------------------------------------------ run
log "cloudsdial: start (20 users)"
ours_setup
ours_start
SYSTEMS="cloudsdial"
if [ "$OURS_ONLY" = 0 ]; then
  log "dovecot: start-peers.sh, then restart with the raised limits"
  dc_start "$BUSER"
  SYSTEMS="cloudsdial dovecot"
fi

for s in $SYSTEMS; do
  log "$s: fill $BUSER's INBOX to $FILL messages ($FILL_CLIENTS APPEND clients)"
  fill "$s"
done

first=cloudsdial; second=dovecot
for c in $CLIENTS; do
  for run in $(seq 1 "$RUNS"); do
    log "$c client(s), run $run"
    if [ "$OURS_ONLY" = 1 ]; then load_run cloudsdial "$c" "$run"; continue; fi
    load_run $first "$c" "$run"; load_run $second "$c" "$run"
    t=$first; first=$second; second=$t
  done
done
LOAD_MID=$(cut -d' ' -f1-3 /proc/loadavg)

OURS_MEM=$($PY "$PEERS/proctree.py" mem "$OURS_PID" || true); OURS_MEM=${OURS_MEM%%$'\n'*}
[ "$OURS_ONLY" = 0 ] && DC_PROCS0=$(nprocs)
for n in $IDLE; do
  # ours restarted before each idle test: memory the load runs left free in its heap would
  # otherwise take the new sessions without any growth (Dovecot's are new processes anyway)
  log "$n idle connections (cloudsdial restarted first)"
  cp "$OURS_DIR/cloudsdial.log" "$OURS_DIR/cloudsdial.log.$n"
  ours_stop; ours_start
  if [ "$OURS_ONLY" = 1 ]; then idle_run cloudsdial "$n"; continue; fi
  idle_run $first "$n"; settle $first; idle_run $second "$n"; settle $second
  t=$first; first=$second; second=$t
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# every log of ours (copied aside at each restart)
WARN_LINES=$(cat "$OURS_DIR"/cloudsdial.log* | grep -cE ' (warn|error)' || true)
DC_WARN="n/a"
if [ "$OURS_ONLY" = 0 ]; then
  dc_warnings
fi

# ------------------------------------------------------------------ report
export FILL RUNS BODIES BUSER LOAD_NOTE LOAD_START LOAD_MID LOAD_END BIN OURS_ONLY NOFILE CONN_LIMIT FILL_CLIENTS HOLD
export OURS_MEM=${OURS_MEM:-n/a} WARN_LINES DC_WARN
export DC_WARN_TEXT=$(head -5 "$WORK/dovecot/warnings.txt" 2>/dev/null | cut -c1-200 || true)
report_env
PYTHONPATH="$REPO/bench/lib${PYTHONPATH:+:$PYTHONPATH}" $PY - "$JSONL" "$REPORT" <<'EOF'
import math, os, sys
from report_common import NAN, cells_of, connection_errors, dovecot_warn_suffix, idle_established, idle_kb, med, ms, num, read_records, targets_verdict
E = os.environ
jsonl, report = sys.argv[1:3]
recs = read_records(jsonl)
load = [r for r in recs if r["phase"] not in ("idle", "append_fill")]
idle = [r for r in recs if r["phase"] == "idle"]
fills = {r["system"]: r for r in recs if r["phase"] == "append_fill"}
cells = cells_of(load)
def rng(rs, k):
    v = [r[k] for r in rs if r.get(k) is not None]
    return (min(v), max(v)) if v else (NAN, NAN)
f = num
# (phase, what, target speed-up Dovecot time / ours, issue-14 row)
ROWS = [("select", "SELECT INBOX", 1, True),
        ("fetch_all", "FETCH 1:* (FLAGS UID RFC822.SIZE)", 1, True),
        ("fetch_bodies", "UID FETCH a:b (BODY.PEEK[]), %s bodies" % E["BODIES"], 1, True),
        ("fetch_each", "%s single UID FETCH n (BODY.PEEK[])" % E["BODIES"], 1, True),
        ("search_subject", "SEARCH SUBJECT \"needle\"", 1, True),
        ("search_from", "SEARCH FROM \"alice\"", 1, True),
        ("search_body", "SEARCH BODY \"zyzzyva\"", 5, True),
        ("store_add", "STORE 1:* +FLAGS (\\Flagged)", 1, True),
        ("store_remove", "STORE 1:* -FLAGS (\\Flagged)", None, False),
        ("login", "connect + LOGIN (ours: PBKDF2 4096; Dovecot: {PLAIN} passwd-file)", None, False),
        ("logout", "LOGOUT", None, False)]
clients = sorted({r["clients"] for r in load})
systems = sorted({r["system"] for r in recs})
both = "dovecot" in systems
out = []; p = out.append
p("# IMAP: cloudsdial vs Dovecot, %s" % E["R_DATE"])
p("")
p("One user's INBOX (`%s`) filled by APPEND with %s mailgen messages (mean ~7.7 KB) on each server; %s" % (
    E["BUSER"], E["FILL"], "then each run is one `imap-load.py` invocation, C clients in lock-step on that INBOX."))
p("Time = wall time of the phase over all clients (first start to last end); median of %s run(s) per cell;" % E["RUNS"])
p("the systems alternate run by run (and which goes first). Speed-up = Dovecot time / ours.")
p("")
misses = []
if load:
    p("| operation | clients | ours ms | Dovecot ms | **speed-up** | run by run | server CPU ms ours / Dovecot | hits ours / Dovecot | target |")
    p("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |")
    for c in clients:
        for ph, what, target, issue in ROWS:
            o = cells.get(("cloudsdial", ph, c), []); d = cells.get(("dovecot", ph, c), [])
            if not o and not d:
                continue
            to, td = med(o, "wall_s"), med(d, "wall_s")
            sp = td / to if o and d and to > 0 else NAN
            pairs = sorted(b["wall_s"] / a["wall_s"] for a, b in zip(sorted(o, key=lambda r: r["run"]),
                                                                    sorted(d, key=lambda r: r["run"])) if a["wall_s"] > 0)
            ho = o[0].get("hits") if o else None; hd = d[0].get("hits") if d else None
            hits = "" if ho is None and hd is None else "%s / %s%s" % (ho, hd, "" if ho == hd or not d else " **differ**")
            if ho is not None and hd is not None and ho != hd:
                misses.append("%s, %d client(s): hits differ (ours %s, Dovecot %s)" % (ph, c, ho, hd))
            if target is None or not both:
                tg = "—"
            elif math.isnan(sp):
                tg = "n/a"
            else:
                ok = sp >= target if target > 1 else sp > 1
                tg = ("%s %s" % ("≥ %d×:" % target if target > 1 else "faster:", "met" if ok else "**not met**"))
                if not ok:
                    misses.append("%s, %d client(s): %.2f× (target %s)" % (what, c, sp, "≥ %d×" % target if target > 1 else "> 1×"))
            p("| %s | %d | %s | %s | **%s** | %s | %s / %s | %s | %s |" % (
                what, c, ms(to), ms(td) if d else "—", "n/a" if math.isnan(sp) else "%.2f×" % sp,
                ", ".join("%.2f×" % x for x in pairs) if len(pairs) > 1 else "",
                ms(med(o, "server_cpu_s")), ms(med(d, "server_cpu_s")) if d else "—", hits, tg))
    p("")
if fills:
    p("Fill (no target): " + "; ".join("%s APPENDed %d messages (%.1f MB) with %d clients at %.0f msg/s, server CPU %s s" % (
        s, r["msgs"], r["bytes"] / 1e6, r["clients"], r["msg_s"], f(r.get("server_cpu_s"), 1)) for s, r in sorted(fills.items())) + ".")
    p("")
if idle:
    p("## Idle authenticated connections")
    p("")
    p("`idle-conns.py --proto imap`: N connections, each greeting + LOGIN (user4..user20 round robin), held %s s," % E["HOLD"])
    p("then NOOP on each. Memory per connection = growth of the server's process tree (PSS; RSS in brackets)")
    p("from before opening to all open, divided by the connections established. Ours is restarted before each")
    p("test (a heap with room left by the load runs would hide the growth); Dovecot's sessions are new processes.")
    p("")
    p("| connections | ours: established / NOOP ok | Dovecot: established / NOOP ok | ours KB/conn PSS (RSS) | Dovecot KB/conn PSS (RSS) | **Dovecot / ours** | target |")
    p("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    by = {(r["system"], r["count"]): r for r in idle}
    for n in sorted({r["count"] for r in idle}):
        o = by.get(("cloudsdial", n)); d = by.get(("dovecot", n))
        ratio = (d["pss_kb_per_conn"] / o["pss_kb_per_conn"]) if o and d and o["pss_kb_per_conn"] and o["pss_kb_per_conn"] > 0 else NAN
        goals = []
        if o:
            po = NAN if o["pss_kb_per_conn"] is None else o["pss_kb_per_conn"]
            limit = 44.0 if not d or d["pss_kb_per_conn"] is None else min(44.0, d["pss_kb_per_conn"] / 10)
            m1 = po <= limit
            goals.append("≤ %s KB: %s" % (f(limit, 1), "met" if m1 else "**not met**"))
            if not m1:
                misses.append("idle memory at %d connections: %s KB per connection (target ≤ %s KB)" % (n, f(po, 1), f(limit, 1)))
            if not o.get("server_alive", True):
                misses.append("ours died during the test with %d idle connections" % n)
            if n >= 10000:
                held = (o["ok"] or 0) >= n and (o["noop_ok"] or 0) >= n
                goals.append("10,000 held: %s" % ("met" if held else "**not met**"))
                if not held:
                    misses.append("ours held %s of %d idle connections (%s answered NOOP)" % (o["ok"], n, o["noop_ok"]))
        p("| %d | %s | %s | %s | %s | **%s** | %s |" % (n, idle_established(o, n), idle_established(d, n), idle_kb(o), idle_kb(d),
            "n/a" if math.isnan(ratio) else "%.1f×" % ratio, "; ".join(goals)))
    connection_errors(p, idle)
    p("")
p("## Targets (issue 14)")
p("")
p("Faster than Dovecot on every row (SELECT, FETCH 1:*, bulk and single UID FETCH, header SEARCH, STORE +FLAGS),")
p("SEARCH BODY ≥ 5×, idle memory per connection ≤ 1/10 of Dovecot's and ≤ 44 KB, 10,000 idle connections held.")
p("")
targets_verdict(p, both, misses, "Ours only (-O): no comparison.")
p("")
if load:
    p("Spread and noise (load1 at each run's start; busy CPU-seconds of the whole machine during the phase next to the")
    p("server's own):")
    p("")
    p("| system | operation | clients | time ms min–max | load1 min–max | machine busy s / server CPU s, median |")
    p("| --- | --- | ---: | ---: | ---: | ---: |")
    for c in clients:
        for ph, what, _, _ in ROWS:
            for s in systems:
                rs = cells.get((s, ph, c))
                if not rs:
                    continue
                lo, hi = rng(rs, "wall_s"); l_lo, l_hi = rng(rs, "load1")
                p("| %s | %s | %d | %s–%s | %s–%s | %s / %s |" % (s, ph, c, ms(lo), ms(hi), f(l_lo, 2), f(l_hi, 2),
                    f(med(rs, "sys_busy_s"), 2), f(med(rs, "server_cpu_s"), 2)))
    p("")
p("Conditions: %s; ours' data on %s, Dovecot's (%s, peer config + `service imap { process_limit = %s }`, " % (
    E["R_HOST"], E["R_FS"], E["R_DOVECOT"], E["CONN_LIMIT"]) +
  "`service stats { client_limit = %s }`) on %s; ulimit -n %s; load average (1/5/15) at start %s, after the load runs %s, at end %s; load wait: %s." % (
    E["CONN_LIMIT"], E["R_DCFS"], E["NOFILE"], E["LOAD_START"], E["LOAD_MID"], E["LOAD_END"], E["LOAD_NOTE"]))
p("cloudsdial: %s (`%s`), log_level info, one process; after the load runs %s; %s warn/error log lines. Dovecot: %s warning/error log lines%s." % (
    E["R_GIT"], E["BIN"], E["OURS_MEM"], E["WARN_LINES"], E["DC_WARN"], dovecot_warn_suffix(E)))
p("Raw records (imap-load.py JSON plus the idle results): `%s`." % os.path.basename(jsonl))
open(report, "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
echo
echo "report: $REPORT"
echo "raw:    $JSONL"
