#!/bin/bash
# bench/smtp_inbound/run.sh - SMTP inbound throughput of cloudsdial vs a loopback Postfix,
# in the same run, with Postfix's smtp-source through ../shared/peers/smtp-load.sh.
#
# usage: bench/smtp_inbound/run.sh [options] CLOUDSDIAL_BINARY
#   -n N        messages per run                        (default 2000, as the peers use)
#   -r R        runs per (size, sessions) cell; median  (default 3)
#   -q          quick mode: -n 300 -r 1 (a smoke test, figures are noisy)
#   -z SIZES    payload sizes in bytes                  (default "1024 102400")
#   -p SESS     concurrent SMTP sessions                (default "1 20")
#   -d          reuse connections (smtp-source -d); default one message per connection
#   -O          ours only: skip the Postfix peer
#   -i          interleave: both servers up, cells alternate ours / Postfix (and which
#               goes first), so load drift on a shared machine hits both alike.
#               Default: all cells on ours (then stopped), then all on Postfix
#   -c          also measure the client ceiling: smtp-source against Postfix's smtp-sink
#               (accepts and discards, no disk), same cells
#   -s          also count our server's fsync/fdatasync/syncfs calls per cell with
#               `perf stat -e syscalls:...` (group-commit rounds and batch sizes)
#   -W LOAD     before measuring, wait until the 1-min load average is below LOAD
#               (poll every 30 s, at most -T minutes; then measure anyway, and say so)
#   -T MIN      longest wait for -W                     (default 40)
#   -o DIR      where the report goes                   (default <repo>/bench/results)
#   -D DIR      parent of the temp dir with our data dir (default ${TMPDIR:-/var/tmp},
#               the filesystem the Postfix peer spools and delivers on)
#   -l LEVEL    our server's log_level (default info; the log goes to a file, as
#               Postfix's maillog does)
#   -x CLEAN    between runs, empty the measured Maildir's new/ and cur/ by
#                 aside   moving the files into a sibling directory, removed at the end
#                         (default: no file is deleted while measuring, see below)
#                 delete  deleting them (smtp-load.sh -C, this script's old default)
#   -k          keep the temp dir (config, server log, raw TSV) for inspection
#
# Why "aside": on ext4 without a journal (this project's VMs) the inode allocator skips
# every inode freed in the last 60 s (360 s while its inode-table block is dirty), reading
# each from the buffer cache, before it takes a free one. Measured here (2000 creates of
# 1 KiB files, /usr/bin/python3): 12 us per create normally, 75-100 us in the 10-30 s
# after 2000 deletions in the same block group. Deleting 2000 files before every run made
# each next run of either server pay that, by an amount that depended on how many runs
# (of both servers: they share the block group) came before, so the figures drifted run by
# run. Moving files aside frees no inode; both servers are cleaned the same way.
#
# What is measured (see bench/README.md): per size x sessions cell, messages/s and MB/s
# (payload bytes, 1e6) ACCEPTED (250 after DATA, smtp-source wall time) and END TO END
# (until the COUNT-th file is in user1's Maildir new/+cur/), median of R runs, plus the
# server's CPU seconds per message (whole process tree, proctree.py). Our server answers
# 250 only after the message is durable in Maildir/new (group commit), so for us accepted
# and end to end are the same event; Postfix answers 250 after its queue file is fsynced,
# and delivers to Maildir (another fsync) afterwards.
#
# Peer scripts: ${PEERS:-<repo>/../shared/peers}. Loopback only. Builds nothing and
# downloads nothing (start-peers.sh installs the Debian peers if they are missing).
# Postfix state lives in ${PEER_ROOT:-/var/tmp/cloudsdial-peers}; if its Postfix is
# already running (someone else's run), it is used as it is and left running.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PEERS=${PEERS:-$REPO/../shared/peers}
PEER_ROOT=${PEER_ROOT:-/var/tmp/cloudsdial-peers}
export PEER_ROOT
PY=/usr/bin/python3

COUNT=2000; RUNS=3; SIZES="1024 102400"; SESS="1 20"; REUSE=""; OURS_ONLY=0; SYSCALLS=0
LOAD_MAX=""; LOAD_WAIT_MIN=40; OUTDIR=$REPO/bench/results; TMPBASE=${TMPDIR:-/var/tmp}
LOG_LEVEL=info; KEEP=0; INTERLEAVE=0; CEILING=0; CLEAN=aside
usage() { sed -n '2,40p' "$0"; exit 2; }
OPTIND=1
while getopts "n:r:qz:p:dOicsW:T:o:D:l:x:kh" o; do
  case $o in
    n) COUNT=$OPTARG;; r) RUNS=$OPTARG;; q) COUNT=300; RUNS=1;;
    z) SIZES=$OPTARG;; p) SESS=$OPTARG;; d) REUSE=-d;; O) OURS_ONLY=1;; s) SYSCALLS=1;;
    i) INTERLEAVE=1;; c) CEILING=1;;
    W) LOAD_MAX=$OPTARG;; T) LOAD_WAIT_MIN=$OPTARG;; o) OUTDIR=$OPTARG;; D) TMPBASE=$OPTARG;;
    l) LOG_LEVEL=$OPTARG;; x) CLEAN=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
case $CLEAN in aside|delete) ;; *) echo "smtp_inbound: -x takes aside or delete" >&2; exit 2;; esac
BIN=$(realpath "$1")
[ -x "$BIN" ] || { echo "smtp_inbound: $1 is not an executable" >&2; exit 2; }
[ -x "$PEERS/smtp-load.sh" ] || { echo "smtp_inbound: no peer scripts in $PEERS (set PEERS=)" >&2; exit 2; }
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] ||
  { echo "smtp_inbound: smtp-source missing (Debian package postfix; $PEERS/setup-peers.sh installs it)" >&2; exit 2; }
if [ "$SYSCALLS" = 1 ] && ! perf list 'syscalls:sys_enter_syncfs' 2>/dev/null | grep -q syncfs; then
  echo "smtp_inbound: -s needs perf with syscall tracepoints; continuing without" >&2
  SYSCALLS=0
fi

STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUTDIR"
REPORT=$OUTDIR/smtp_inbound-$STAMP.md
TSV=$OUTDIR/smtp_inbound-$STAMP.tsv
WORK=$(mktemp -d "$TMPBASE/cloudsdial-smtp-inbound.XXXXXX")
DATA=$WORK/data
MAILDIR=$DATA/mail/user1/Maildir
PIDFILE=$DATA/cloudsdial.pid
SYSC=$WORK/syscalls.tsv
SRV_PID=""; PF_STARTED=0; PERF_N=0
PF=$PEER_ROOT/postfix
PF_PIDFILE=$PF/spool/pid/master.pid
PF_MAILDIR=$PEER_ROOT/home/user1/Maildir

log() { echo "=== $* ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$WORK/steps.log"; }

stop_ours() {
  [ -n "$SRV_PID" ] || return 0
  if kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$SRV_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SRV_PID" 2>/dev/null; then
      echo "smtp_inbound: cloudsdial pid $SRV_PID still alive after 15 s, KILL" >&2
      kill -KILL "$SRV_PID" 2>/dev/null || true
    fi
  fi
  wait "$SRV_PID" 2>/dev/null || true
  SRV_PID=""
}
# set_aside MAILDIR: moves the delivered files out of new/ and cur/ into a directory beside
# the Maildir (same filesystem, so each move is a rename and frees no inode); the
# directories are removed once everything is measured (cleanup).
ASIDE_DIRS=()
set_aside() {
  local md=$1 dir
  dir="$(dirname "$md")/bench-aside.$STAMP.${#ASIDE_DIRS[@]}"
  mkdir -p "$dir"
  ASIDE_DIRS+=("$dir")
  find "$md/new" "$md/cur" -maxdepth 1 -type f -exec mv -t "$dir" {} + 2>/dev/null || true
}
cleanup() {
  stop_ours
  rm -rf "${ASIDE_DIRS[@]}"
  if [ "$PF_STARTED" = 1 ]; then "$PEERS/stop-peers.sh" >/dev/null 2>&1 || true; PF_STARTED=0; fi
  if [ "$KEEP" = 1 ]; then echo "smtp_inbound: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ------------------------------------------------------------------ load
LOAD_NOTE="no wait requested"
if [ -n "$LOAD_MAX" ]; then
  t_wait0=$(date +%s)
  while :; do
    l1=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v a="$l1" -v b="$LOAD_MAX" 'BEGIN{exit !(a < b)}'; then
      LOAD_NOTE="load1 $l1 < $LOAD_MAX after waiting $(( $(date +%s) - t_wait0 )) s"
      break
    fi
    if (( $(date +%s) - t_wait0 >= LOAD_WAIT_MIN * 60 )); then
      LOAD_NOTE="load1 still $l1 (>= $LOAD_MAX) after ${LOAD_WAIT_MIN} min: measured anyway, figures are noisy"
      break
    fi
    echo "smtp_inbound: load1 $l1 >= $LOAD_MAX, waiting ($(( $(date +%s) - t_wait0 )) s so far)"
    sleep 30
  done
  echo "smtp_inbound: $LOAD_NOTE"
fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ per-cell driver
# run_cells LABEL PORT MAILDIR PIDSPEC [PERF_PID]: smtp-load.sh for each (size, sessions)
# cell, appending raw rows to $TSV; with -s, perf counts the fsync family meanwhile. With
# -x aside (and a Maildir to count), one smtp-load.sh per run, the Maildir set aside first.
run_cells() {
  local label=$1 port=$2 md=$3 pidspec=$4 perf_pid=${5:-} size s runs per_call i
  for size in $SIZES; do
    for s in $SESS; do
      if [ -n "$md" ] && [ "$CLEAN" = aside ]; then runs=$RUNS; per_call=1; else runs=1; per_call=$RUNS; fi
      for i in $(seq 1 "$runs"); do
        [ -n "$md" ] && [ "$CLEAN" = aside ] && set_aside "$md"
        load_call "$label" "$port" "$md" "$pidspec" "$perf_pid" "$size" "$s" "$per_call"
      done
    done
  done
}

# load_call LABEL PORT MAILDIR PIDSPEC PERF_PID SIZE SESSIONS RUNS: one smtp-load.sh
load_call() {
  local label=$1 port=$2 md=$3 pidspec=$4 perf_pid=$5 size=$6 s=$7 runs=$8 pf_out
  local -a wrap=() clean=()
  if [ -n "$perf_pid" ]; then
    # perf counts the server's threads for as long as smtp-load.sh runs
    PERF_N=$((PERF_N + 1))
    pf_out=$WORK/perf.$PERF_N.$label.$size.$s
    wrap=(perf stat -x, -o "$pf_out" -p "$perf_pid"
          -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_syncfs
          -e syscalls:sys_enter_rename,task-clock,context-switches --)
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$size" "$s" "$((COUNT * runs))" "$pf_out" >>"$SYSC"
  fi
  [ -n "$md" ] && [ "$CLEAN" = delete ] && clean=(-C)
  "${wrap[@]}" "$PEERS/smtp-load.sh" 127.0.0.1 "$port" -z "$size" -p "$s" -n "$COUNT" -r "$runs" $REUSE \
    ${md:+-m "$md"} "${clean[@]}" -P "$pidspec" -L "$label" -o "$TSV" | tee -a "$WORK/$label.txt"
}

# ------------------------------------------------------------------ servers
start_ours() {
  mkdir -p "$DATA"
  cat >"$WORK/cloudsdial.toml" <<EOF
# written by bench/smtp_inbound/run.sh
[server]
hostname = "mx.example.test"
data_dir = "$DATA"
log_level = "$LOG_LEVEL"
shutdown_timeout = "10s"

[smtp]
listen = ["127.0.0.1:0"]
max_connections = 10000
max_connections_per_ip = 10000
message_size_max = "35MiB"

[domains]
local = ["example.test"]

[[users]]
name = "user1"
aliases = ["postmaster"]
EOF
  : >"$WORK/cloudsdial.log"  # exists before the child's own redirect runs
  "$BIN" serve --config "$WORK/cloudsdial.toml" 2>>"$WORK/cloudsdial.log" &
  SRV_PID=$!
  PORT=""
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^cloudsdial: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/cloudsdial.log" | head -1) || PORT=""
    [ -n "$PORT" ] && [ -s "$PIDFILE" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$PORT" ] || [ ! -s "$PIDFILE" ]; then
    echo "smtp_inbound: cloudsdial did not start; its log:" >&2
    cat "$WORK/cloudsdial.log" >&2
    exit 1
  fi
  echo "cloudsdial pid $SRV_PID listening on 127.0.0.1:$PORT, data $DATA"
  # warm-up (page cache, first Maildir entries, allocator), not recorded
  "$PEERS/smtp-load.sh" 127.0.0.1 "$PORT" -z 1024 -p 20 -n 100 -r 1 -m "$MAILDIR" >/dev/null
}

PF_NOTE="not measured (-O)"
start_postfix() {
  if [ -s "$PF_PIDFILE" ] && kill -0 "$(head -1 "$PF_PIDFILE" | tr -d ' ')" 2>/dev/null; then
    PF_NOTE="peer Postfix was already running: used as it was (not reset, not stopped)"
    echo "smtp_inbound: $PF_NOTE" >&2
  else
    # as run-peer-baselines.sh RESET=1: empty queue and Maildir, small maillog
    rm -rf "$PF_MAILDIR" "$PF/spool" "$PF/data"
    if [ -f "$PF/log/maillog" ]; then mv -f "$PF/log/maillog" "$PF/log/maillog.prev"; fi
    PF_STARTED=1
    SMTPD_MAXPROC=100 "$PEERS/start-peers.sh" >"$WORK/start-peers.txt" 2>&1 ||
      { cat "$WORK/start-peers.txt" >&2; exit 1; }
    PF_NOTE="fresh instance (empty queue and Maildir), smtpd maxproc 100"
  fi
  "$PEERS/smtp-load.sh" 127.0.0.1 12525 -z 1024 -p 20 -n 100 -r 1 -m "$PF_MAILDIR" >/dev/null
}
stop_postfix() {
  if [ "$PF_STARTED" = 1 ]; then "$PEERS/stop-peers.sh" >/dev/null; PF_STARTED=0; fi
}

# run_one LABEL SIZE SESS: one cell of one server
run_one() {
  case $1 in
    cloudsdial) run_cells cloudsdial "$PORT" "$MAILDIR" "@$PIDFILE" "$([ "$SYSCALLS" = 1 ] && echo "$SRV_PID")";;
    postfix) run_cells postfix 12525 "$PF_MAILDIR" "@$PF_PIDFILE";;
  esac
}

ALL_SIZES=$SIZES; ALL_SESS=$SESS
if [ "$INTERLEAVE" = 1 ] && [ "$OURS_ONLY" = 0 ]; then
  # both servers up (the idle one costs nothing); runs alternate ours / Postfix one
  # by one, and which goes first alternates too, so load drift hits both alike and
  # each run of ours has a Postfix run seconds away (the paired ratios below)
  ORDER_NOTE="interleaved run by run (-i), alternating which server goes first"
  log "cloudsdial: $BIN"; start_ours
  log "postfix: fresh state and start"; start_postfix
  first=cloudsdial; second=postfix; ALL_RUNS=$RUNS; RUNS=1
  for SIZES in $ALL_SIZES; do
    for SESS in $ALL_SESS; do
      for run in $(seq 1 "$ALL_RUNS"); do
        log "cell $SIZES B x $SESS, run $run: $first, then $second"
        run_one $first; run_one $second
        t=$first; first=$second; second=$t
      done
    done
  done
  SIZES=$ALL_SIZES; SESS=$ALL_SESS; RUNS=$ALL_RUNS
  mem_ours=$($PY "$PEERS/proctree.py" mem "@$PIDFILE" || true); mem_ours=${mem_ours%%$'\n'*}
  stop_ours; stop_postfix
else
  ORDER_NOTE="cloudsdial first (all cells), then Postfix"
  log "cloudsdial: $BIN"; start_ours
  log "cloudsdial: measuring"
  run_one cloudsdial
  mem_ours=$($PY "$PEERS/proctree.py" mem "@$PIDFILE" || true); mem_ours=${mem_ours%%$'\n'*}
  stop_ours
  if [ "$OURS_ONLY" = 0 ]; then
    log "postfix: fresh state and start"; start_postfix
    log "postfix: measuring"
    run_one postfix
    stop_postfix
  fi
fi

# client ceiling: smtp-source against Postfix's smtp-sink (accepts and discards, no disk)
if [ "$CEILING" = 1 ]; then
  SINK_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log "smtp-sink: client ceiling on 127.0.0.1:$SINK_PORT"
  "$(command -v smtp-sink || echo /usr/sbin/smtp-sink)" -u nobody "127.0.0.1:$SINK_PORT" 1024 & SINK=$!
  sleep 0.5
  run_cells smtp-sink "$SINK_PORT" "" "$SINK" || true
  kill "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
case $CLEAN in
  aside) CLEAN_NOTE="between runs the Maildir's files were moved aside (no inode freed while measuring, -x aside)";;
  delete) CLEAN_NOTE="between runs the Maildir's files were deleted (smtp-load.sh -C, -x delete)";;
esac
export ORDER_NOTE COUNT RUNS REUSE CLEAN_NOTE LOAD_NOTE LOAD_START LOAD_END PF_NOTE BIN LOG_LEVEL
export R_GIT="repo HEAD $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown) at report time, binary built $(date -r "$BIN" '+%Y-%m-%d %H:%M')"
export R_FS=$(df -T "$WORK" | awk 'NR==2{print $2 " on " $1}')
export R_HOST="$(nproc) CPUs, kernel $(uname -r)"
export R_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export R_MEM=${mem_ours:-n/a}
export R_WARN=$(grep -cE ' (warn|error)' "$WORK/cloudsdial.log" || true)
$PY - "$TSV" "$REPORT" "$SYSC" <<'EOF'
import csv, math, os, statistics, sys
E = os.environ
tsv, report, sysc = sys.argv[1:4]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
cells = {}
for r in rows:
    cells.setdefault((r["label"], int(r["size"]), int(r["sessions"])), []).append(r)
NAN = float("nan")
def vals(rs, k):
    return [float(r[k]) for r in rs if r[k] != "nan"]
def med(rs, k):
    v = vals(rs, k)
    return statistics.median(v) if v else NAN
def rng(rs, k):
    v = vals(rs, k)
    return (min(v), max(v)) if v else (NAN, NAN)
def f(x, d=1):
    return "n/a" if x is None or math.isnan(x) else ("%.*f" % (d, x))
def ratio(a, b):
    return "n/a" if math.isnan(a) or math.isnan(b) or b == 0 else "%.2f×" % (a / b)
def size_name(s):
    return "%d KiB" % (s // 1024) if s % 1024 == 0 else "%d B" % s
keys = sorted({(k[1], k[2]) for k in cells})
out = []
p = out.append
p("# smtp_inbound: cloudsdial vs Postfix, %s" % E["R_DATE"])
p("")
p("SMTP inbound to one local Maildir user, driven by Postfix `smtp-source` through")
p("`../shared/peers/smtp-load.sh`: %s messages per run, median of %s run(s) per cell, %s." % (
    E["COUNT"], E["RUNS"], "connection reuse (-d)" if E.get("REUSE") else "one message per connection"))
p("Accepted = 250 after DATA; e2e = the message file is in Maildir new/ (for cloudsdial the 250")
p("already means durably in new/, group commit; Postfix fsyncs its queue file, then local(8) delivers).")
p("MB/s = payload bytes / 1e6. CPU = the server's whole process tree per message.")
p("")
p("| size | sessions | ours accepted msg/s (MB/s) | ours e2e msg/s (MB/s) | Postfix accepted msg/s (MB/s) | Postfix e2e msg/s (MB/s) | ratio accepted | **ratio e2e** | CPU ms/msg ours / Postfix |")
p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
def cell(rs, k1, k2):
    return "%s (%s)" % (f(med(rs, k1)), f(med(rs, k2), 2)) if rs else "—"
def cpu(rs):
    return f(med(rs, "server_cpu_s") * 1000 / int(rs[0]["count"]), 2) if rs else "—"
for size, s in keys:
    o = cells.get(("cloudsdial", size, s), [])
    q = cells.get(("postfix", size, s), [])
    if not o and not q:
        continue
    p("| %s | %d | %s | %s | %s | %s | %s | **%s** | %s / %s |" % (
        size_name(size), s, cell(o, "accept_msg_s", "accept_MB_s"), cell(o, "e2e_msg_s", "e2e_MB_s"),
        cell(q, "accept_msg_s", "accept_MB_s"), cell(q, "e2e_msg_s", "e2e_MB_s"),
        ratio(med(o, "accept_msg_s") if o else NAN, med(q, "accept_msg_s") if q else NAN),
        ratio(med(o, "e2e_msg_s") if o else NAN, med(q, "e2e_msg_s") if q else NAN), cpu(o), cpu(q)))
sink = [(size, s, cells[("smtp-sink", size, s)]) for size, s in keys if ("smtp-sink", size, s) in cells]
if sink:
    p("")
    p("Client ceiling: the same smtp-source load against Postfix's `smtp-sink` (replies 250 and discards,")
    p("no disk, no fsync), i.e. what the client and loopback allow on this machine at the same time:")
    p("")
    p("| size | sessions | smtp-sink accepted msg/s (MB/s) | ours / ceiling | Postfix / ceiling |")
    p("| --- | ---: | ---: | ---: | ---: |")
    for size, s, rs in sink:
        o = cells.get(("cloudsdial", size, s), []); q = cells.get(("postfix", size, s), [])
        c = med(rs, "accept_msg_s")
        p("| %s | %d | %s | %s | %s |" % (size_name(size), s, cell(rs, "accept_msg_s", "accept_MB_s"),
            ratio(med(o, "e2e_msg_s") if o else NAN, c), ratio(med(q, "e2e_msg_s") if q else NAN, c)))
p("")
checks = []
for size, s in keys:
    o = cells.get(("cloudsdial", size, s)); q = cells.get(("postfix", size, s))
    want = 4.0 if s >= 20 else 1.0 if s == 1 else None
    if not o or not q or want is None:
        continue
    r = med(o, "e2e_msg_s") / med(q, "e2e_msg_s")
    # run i of ours against run i of Postfix (adjacent in time with -i)
    pairs = sorted(float(a["e2e_msg_s"]) / float(b["e2e_msg_s"]) for a, b in zip(o, q)
                   if a["e2e_msg_s"] != "nan" and b["e2e_msg_s"] != "nan" and float(b["e2e_msg_s"]) > 0)
    paired = "; run-by-run ratios %s" % ", ".join("%.2f×" % x for x in pairs) if pairs else ""
    checks.append("* %s, %d session(s): e2e %.2f× Postfix%s (target ≥ %g×): %s" % (
        size_name(size), s, r, paired, want, "met" if r >= want else "**not met**"))
if checks:
    p("Targets (issue): end to end ≥ 4× Postfix at 20 sessions and ≥ 1× at 1 session, same durability.")
    p("")
    out.extend(checks)
    p("")
p("Spread over runs and machine noise (load1 at each run's start; busy CPU-seconds of the whole")
p("machine during a run, both cores, next to the server's own CPU-seconds):")
p("")
p("| server | size | sessions | e2e msg/s min–max | load1 min–max | machine busy s / server CPU s (median) |")
p("| --- | --- | ---: | ---: | ---: | ---: |")
for (lab, size, s), rs in sorted(cells.items()):
    lo, hi = rng(rs, "e2e_msg_s"); l_lo, l_hi = rng(rs, "load1")
    p("| %s | %s | %d | %s–%s | %s–%s | %s / %s |" % (lab, size_name(size), s, f(lo), f(hi), f(l_lo, 2), f(l_hi, 2),
        f(med(rs, "sys_busy_s"), 2), f(med(rs, "server_cpu_s"), 2)))
if os.path.exists(sysc) and os.path.getsize(sysc) > 0:
    p("")
    p("cloudsdial sync calls per cell (perf stat on its threads, all runs of the cell). One group-commit")
    p("round = one sync_files (fdatasync per file below 4 files, else one syncfs) + one fsync of new/,")
    p("so messages per fsync ≈ the mean batch:")
    p("")
    p("| size | sessions | msgs | fsync (new/) | fdatasync | syncfs | msgs per round | task-clock ms/msg | ctx switches/msg |")
    p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    agg = {}
    for line in open(sysc):
        lab, size, s, n, path = line.rstrip("\n").split("\t")
        key = (int(size), int(s))
        tot = agg.setdefault(key, {"n": 0})
        try:
            for l in open(path):
                parts = l.strip().split(",")
                if len(parts) >= 3 and not l.startswith("#"):
                    try:
                        k = parts[2].replace("syscalls:sys_enter_", "")
                        tot[k] = tot.get(k, 0.0) + float(parts[0])
                    except ValueError:
                        pass
        except OSError:
            continue
        tot["n"] += int(n)
    for (size, s), ev in sorted(agg.items()):
        n = ev["n"]
        fs = ev.get("fsync", NAN)
        p("| %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (size_name(size), s, n, f(fs, 0),
            f(ev.get("fdatasync", NAN), 0), f(ev.get("syncfs", NAN), 0), f(n / fs if fs else NAN, 2),
            f(ev.get("task-clock", NAN) / n, 3), f(ev.get("context-switches", NAN) / n, 1)))
p("")
p("Conditions: %s; data on %s; load average (1/5/15 min) at start %s, at end %s; load wait: %s; order: %s; %s." % (
    E["R_HOST"], E["R_FS"], E["LOAD_START"], E["LOAD_END"], E["LOAD_NOTE"], E["ORDER_NOTE"], E["CLEAN_NOTE"]))
p("Postfix: %s. cloudsdial: %s (`%s`), log_level %s, %s after the runs, %s warn/error log lines." % (
    E["PF_NOTE"], E["R_GIT"], E["BIN"], E["LOG_LEVEL"], E["R_MEM"], E["R_WARN"]))
p("Raw per-run rows: `%s`." % os.path.basename(tsv))
open(report, "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
echo
echo "report: $REPORT"
echo "raw:    $TSV"
