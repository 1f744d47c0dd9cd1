# bench/lib/wait_load.sh - sourced (bash) by the benchmarks that can wait for a quiet
# machine before measuring (bench/lib/peer_bench.sh, so bench/imap and bench/pop3, and
# bench/relay/run.sh).
#   wait_load [PREFIX]   if LOAD_MAX is set, waits until the 1-min load average is below it
#                        (30 s polls, at most LOAD_WAIT_MIN minutes; then measures anyway
#                        and says so); sets LOAD_NOTE and LOAD_START. PREFIX (default
#                        $NAME) starts its "waiting" lines.

wait_load() {
  local prefix=${1:-$NAME} t_wait0 l1
  LOAD_NOTE="no wait requested"
  if [ -n "$LOAD_MAX" ]; then
    t_wait0=$(date +%s)
    while :; do
      l1=$(cut -d' ' -f1 /proc/loadavg)
      if awk -v a="$l1" -v b="$LOAD_MAX" 'BEGIN{exit !(a < b)}'; then
        LOAD_NOTE="load1 $l1 < $LOAD_MAX after waiting $(( $(date +%s) - t_wait0 )) s"; break
      fi
      if (( $(date +%s) - t_wait0 >= LOAD_WAIT_MIN * 60 )); then
        LOAD_NOTE="load1 still $l1 (>= $LOAD_MAX) after ${LOAD_WAIT_MIN} min: measured anyway"; break
      fi
      echo "$prefix: load1 $l1 >= $LOAD_MAX, waiting"; sleep 30
    done
  fi
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
}
