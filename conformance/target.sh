# conformance/target.sh — sourced (POSIX sh) by conformance/live_test.sh and
# bench/conformance_suite/run.sh: the `cloudsdial serve` the SMTP suite expects
# (docs/CONFORMANCE.md: hostname mx.example.test, domain example.test, a postmaster) on an
# ephemeral loopback port.
#   target_config FILE DATA_DIR   writes its configuration
#   target_start BIN CONFIG LOG   starts it in the background and sets `pid`; sets `port`
#                                 once it listens. Returns 1 (port empty) if the server
#                                 exited, or did not listen within 30 s.

target_config() {
  cat > "$1" <<CONF
[server]
hostname = "mx.example.test"
data_dir = "$2"
log_level = "warn"
shutdown_timeout = "2s"

[smtp]
listen = ["127.0.0.1:0"]
error_delay = "10ms"

[submission]
# The suite sends from arbitrary addresses (sender@example.org) after AUTH; a server that
# checks senders against logins (ours by default) refuses those, which is not what it tests.
sender_must_match_login = false

[domains]
local = ["example.test"]

[[users]]
name = "demo"
aliases = ["postmaster"]
CONF
}

target_start() {
  "$1" serve --config "$2" > "$3" 2>&1 &
  pid=$!
  port=
  _target_i=0
  while [ "$_target_i" -lt 300 ]; do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$3" | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
    _target_i=$((_target_i + 1))
  done
  return 1
}
