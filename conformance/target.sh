# conformance/target.sh — sourced (POSIX sh) by conformance/live_test.sh, imap_live_test.sh,
# pop3_live_test.sh and bench/conformance_suite/run.sh: a `cloudsdial serve` from a temporary
# configuration on ephemeral loopback ports, started, found and stopped.
#   target_tmpdir                 sets `tmp` to a new temporary directory and `pid` empty;
#                                 on exit (or INT/TERM) stops the server `pid` names, if
#                                 any, and removes `tmp`.
# The SMTP suite's target (docs/CONFORMANCE.md: hostname mx.example.test, domain
# example.test, a postmaster):
#   target_config FILE DATA_DIR   writes its configuration
#   target_start BIN CONFIG LOG   starts it in the background and sets `pid`; sets `port`
#                                 once it listens. Returns 1 (port empty) if the server
#                                 exited, or did not listen within 30 s.
# The IMAP and POP3 suites' target (same host and domain, LOGIN/USER allowed on loopback,
# failed-login delays shortened so the wrong-password cases do not wait):
#   target_login_config FILE DATA_DIR SECTION   writes its configuration; SECTION is the
#                                 protocol's own TOML section text ("[imap]\nlisten = ...")
#   target_serve BIN CONFIG LOG LABEL...  starts it in the background and sets `pid`; waits
#                                 until the log names a port for every listener LABEL
#                                 (imap, imaps, pop3, smtp), the server is ready, it exited,
#                                 or 30 s passed. Returns 0 when every LABEL has a port.
#   target_port LOG LABEL         prints the port logged for listener LABEL (empty if none);
#                                 smtp is the line without a label (or with "(smtp)")

target_tmpdir() {
  tmp=$(mktemp -d)
  pid=
  trap target_cleanup EXIT INT TERM
}

target_cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}

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

target_login_config() {
  cat > "$1" <<CONF
[server]
hostname = "mx.example.test"
data_dir = "$2"
log_level = "warn"
shutdown_timeout = "2s"

[smtp]
listen = ["127.0.0.1:0"]
submission_listen = []
submissions_listen = []

$3

[auth]
plaintext_on_loopback = true
failure_delay = "10ms"
failure_delay_max = "20ms"
ip_failures_max = 10000
user_failures_max = 10000

[domains]
local = ["example.test"]
CONF
}

target_port() {
  if [ "$2" = smtp ]; then  # `serve` logs the plain SMTP listener without a label
    sed -n 's/^[a-z0-9]*: listening on 127\.0\.0\.1:\([0-9][0-9]*\)\( (smtp)\)\{0,1\}$/\1/p' "$1"
  else
    sed -n "s/^[a-z0-9]*: listening on 127\\.0\\.0\\.1:\\([0-9][0-9]*\\) ($2)\$/\\1/p" "$1"
  fi
}

target_serve() {
  "$1" serve --config "$2" > "$3" 2>&1 &
  pid=$!
  _target_log=$3
  shift 3
  _target_i=0
  while [ "$_target_i" -lt 300 ]; do
    # "ready" is logged after every "listening on": read it first, so a server that is
    # ready without one of the LABELs is told apart from one still starting.
    _target_ready=
    grep -q '^cloudsdial: ready' "$_target_log" && _target_ready=1
    _target_all=1
    for _target_label in "$@"; do
      [ -n "$(target_port "$_target_log" "$_target_label")" ] || _target_all=
    done
    [ -n "$_target_all" ] && return 0
    [ -n "$_target_ready" ] && return 1
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
    _target_i=$((_target_i + 1))
  done
  return 1
}
