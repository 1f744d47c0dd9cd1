#!/bin/bash
# bench/http/run.sh - issue 16's benchmark: the JMAP message list on a large mailbox, beside
# the same list over IMAP on the peer Dovecot (no peer serves JMAP: Stalwart is not a Debian
# package), and the webmail's first load in headless chromium.
#
# usage: bench/http/run.sh [options] CLOUDSDIAL_BINARY   (a Release build)
#   -n N        messages in the user's INBOX (APPEND fill, both servers)   (default 10000)
#   -s SECONDS  length of each measurement                                 (default 10)
#   -r R        runs per client count (interleaved: ours JMAP, ours IMAP, Dovecot IMAP) (default 3)
#   -c CLIENTS  client counts, comma-separated                             (default "1,20")
#   -O          ours only: no Dovecot
#   -W LOAD     first wait until the 1-min load average is below LOAD (-T minutes at most)
#   -o DIR      where the report goes                                      (default <repo>/bench/results)
#   -k          keep the temp dir
#
# One request (list_load.py): JMAP = Email/query (inbox, receivedAt desc, 50, calculateTotal) +
# Email/get of its #ids (list properties with preview) in one POST; IMAP = UID SEARCH ALL + one
# UID FETCH of the 50 newest (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[TEXT]<0.256>).
# Targets (issue 16): none in requests/s; the webmail: under 300 KB transferred and interactive
# under 500 ms on loopback (webmail_load.mjs, needs /usr/bin/chromium and node_modules).
# Output: bench/results/http-<stamp>.md and .jsonl. Loopback only.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
PEERS=${PEERS:-$REPO/../shared/peers}
PEER_ROOT=${PEER_ROOT:-/var/tmp/cloudsdial-peers}; export PEER_ROOT
DC_PORT=${IMAP_PORT:-11143}
PY=/usr/bin/python3
FILL=10000; SECONDS_EACH=10; RUNS=3; CLIENTS="1,20"; OURS_ONLY=0; LOAD_MAX=""; LOAD_WAIT_MIN=40
OUTDIR=$REPO/bench/results; TMPBASE=${TMPDIR:-/var/tmp}; KEEP=0; BUSER=user2; HOLD=10
usage() { sed -n '2,22p' "$0"; exit 2; }
while getopts "n:s:r:c:OW:T:o:kh" o; do
  case $o in
    n) FILL=$OPTARG;; s) SECONDS_EACH=$OPTARG;; r) RUNS=$OPTARG;; c) CLIENTS=$OPTARG;; O) OURS_ONLY=1;;
    W) LOAD_MAX=$OPTARG;; T) LOAD_WAIT_MIN=$OPTARG;; o) OUTDIR=$OPTARG;; k) KEEP=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
BIN=$(realpath "$1")
[ -x "$BIN" ] || { echo "http: $1 is not an executable" >&2; exit 2; }
IDLE_MAX=0; CONN_LIMIT=2000
NAME=http; PROTO=imap
. "$HERE/../lib/peer_bench.sh"

ours_config() {
  ours_toml "$(cat <<EOT
[imap]
listen = ["127.0.0.1:0"]
tls_listen = []
max_connections_per_ip = $CONN_LIMIT
max_sessions_per_user_ip = 0

[http]
listen = ["127.0.0.1:0"]
max_connections_per_ip = $CONN_LIMIT
EOT
)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_load

log "cloudsdial: start"
ours_setup
ours_start
HTTP_PORT=$(ours_port http)
SYSTEMS="cloudsdial"
if [ "$OURS_ONLY" = 0 ]; then
  log "dovecot: start-peers.sh"
  dc_start "$BUSER"
  SYSTEMS="cloudsdial dovecot"
fi
for s in $SYSTEMS; do
  log "$s: fill $BUSER's INBOX to $FILL messages"
  $PY "$PEERS/imap-load.py" --port "$(port_of "$s")" --user "$BUSER" --password testpass --fill "$FILL" \
    --fill-clients 4 --clients 1 --runs 1 --ops login,select,logout >"$WORK/fill-$s.txt" 2>&1 ||
    { echo "http: $s fill failed" >&2; cat "$WORK/fill-$s.txt" >&2; exit 1; }
  grep '^fill' "$WORK/fill-$s.txt" | sed "s/^/$s /" || true
done
LL="$HERE/list_load.py --user $BUSER --password testpass --seconds $SECONDS_EACH --clients $CLIENTS --json $JSONL"
for run in $(seq 1 "$RUNS"); do
  log "run $run"
  $PY $LL --proto jmap --port "$HTTP_PORT" --server-pid "$OURS_PID" --label cloudsdial
  $PY $LL --proto imap --port "$OURS_PORT" --server-pid "$OURS_PID" --label cloudsdial
  [ "$OURS_ONLY" = 1 ] || $PY $LL --proto imap --port "$DC_PORT" --server-pid "$(dc_pid)" --label dovecot
done
WEBMAIL=""
if [ -x /usr/bin/chromium ] && [ -d "$REPO/node_modules/playwright-core" ]; then
  log "webmail first load"
  WEBMAIL=$(cd "$REPO" && node "$HERE/webmail_load.mjs" "http://127.0.0.1:$HTTP_PORT/" "$BUSER" testpass 2>&1 | tail -20 || true)
fi
export LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg) FILL WEBMAIL BIN
$PY - "$JSONL" "$REPORT" <<'EOP'
import json, os, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = ["# HTTP: the JMAP message list beside IMAP on Dovecot, " + __import__("time").strftime("%Y-%m-%d %H:%M"), "",
       f"One INBOX of {os.environ['FILL']} mailgen messages per server; a request = the 50 newest with their list fields",
       "(JMAP: Email/query + Email/get in one POST; IMAP: UID SEARCH ALL + UID FETCH of 50 with ENVELOPE and a 256-octet",
       "text prefix). Median over runs; the runs interleave ours JMAP, ours IMAP, Dovecot IMAP.", "",
       "| system | protocol | clients | requests/s | p50 ms | p99 ms | server CPU s | load |",
       "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
keys = sorted({(r["label"], r["proto"], r["clients"]) for r in recs}, key=lambda k: (k[2], k[1], k[0]))
for k in keys:
    rs = [r for r in recs if (r["label"], r["proto"], r["clients"]) == k]
    med = lambda f: statistics.median(r[f] for r in rs)
    out.append(f"| {k[0]} | {k[1]} | {k[2]} | {med('rps'):.0f} | {med('p50_ms'):.2f} | {med('p99_ms'):.2f} | "
               f"{med('server_cpu_s'):.2f} | {med('load1'):.1f} |")
out += ["", "Webmail first load (headless chromium, bench/http/webmail_load.mjs):", "", "```",
        os.environ.get("WEBMAIL") or "(not run: no /usr/bin/chromium or node_modules)", "```", "",
        f"Load at the end: {os.environ['LOAD_END']}. Binary: {os.environ['BIN']}."]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOP
