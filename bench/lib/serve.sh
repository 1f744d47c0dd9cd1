# bench/lib/serve.sh - sourced (bash) by the benchmarks that run our `cloudsdial serve`
# (bench/lib/peer_bench.sh, so bench/imap and bench/pop3, and bench/relay/run.sh).
#   serve_start BIN CONFIG LOG   empties LOG, starts `BIN serve --config CONFIG` in the
#                                background (stdin and stdout /dev/null, stderr to LOG) and
#                                sets SERVE_PID; waits (at most 30 s) for its "ready" line.
#                                Returns 0 once it is ready, 1 if it exited or never was.
#   serve_stop PID WHO           SIGTERM, up to 30 s for it to end, then SIGKILL (saying
#                                "WHO pid PID alive after 30 s, KILL" on stderr); reaps it.

serve_start() {
  : >"$3"
  "$1" serve --config "$2" </dev/null >/dev/null 2>>"$3" &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    grep -q '^cloudsdial: ready' "$3" && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^cloudsdial: ready' "$3"
}

serve_stop() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$2 pid $pid alive after 30 s, KILL" >&2; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  wait "$pid" 2>/dev/null || true
}
