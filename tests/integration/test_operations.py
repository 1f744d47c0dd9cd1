# What an operator meets around the protocol (issue 12): a start that fails on a busy port
# leaves nothing on disk and says so once; the modes of what the server creates; a second
# SIGTERM stops at once; `user add` reaches a running server at once; AUTH is offered only
# while a user exists; every rejection is one log line.
import os
import signal
import smtplib
import socket
import stat
import subprocess
import time

from conftest import Server, find_binary


def test_busy_port_stops_the_start_before_anything_is_created(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        srv = Server(tmp_path / "s", smtp_extra={"listen": f'["127.0.0.1:{port}"]'})
        r = subprocess.run([find_binary(), "serve", "--config", str(srv.config_path)], capture_output=True,
                           text=True, timeout=60, cwd=srv.root)
        assert r.returncode == 1, r.stderr
        wanted = f"cannot listen on 127.0.0.1:{port}: Address already in use"
        assert r.stderr.count(wanted) == 1, r.stderr
        assert r.stderr.count(f"127.0.0.1:{port}") == 1, r.stderr  # the endpoint said once
        assert not srv.data_dir.exists(), list(srv.data_dir.rglob("*"))
    finally:
        busy.close()


def test_what_the_server_creates_is_private(tmp_path):
    srv = Server(tmp_path / "s", sections={"tls": {"enabled": "true"}}).start()
    try:
        srv.user("add", "alice", "pw-alice-1")
        mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)
        assert mode(srv.data_dir) == 0o700
        assert mode(srv.data_dir / "tls") == 0o700
        assert mode(srv.data_dir / "tls" / "key.pem") == 0o600
        assert mode(srv.data_dir / "users") == 0o600
        assert mode(srv.maildir("demo")) == 0o700
        with srv.smtp() as s:
            s.sendmail("a@example.org", ["demo@example.test"], "Subject: modes\r\n\r\nhi\r\n")
        stored = srv.find("Subject: modes")
        assert len(stored) == 1
        files = list((srv.maildir("demo") / "new").iterdir())
        assert files and all(mode(f) == 0o600 for f in files)
    finally:
        srv.stop()


def test_second_sigterm_stops_at_once(tmp_path):
    srv = Server(tmp_path / "s", shutdown_timeout="60s").start()
    stalled = srv.connect()
    stalled.send(b"EHLO client.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
    time.sleep(0.5)  # inside a transaction: a graceful stop waits for it
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "the first SIGTERM waits for the open transaction"
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(timeout=20)
    assert time.monotonic() - started < 15  # not the 60 s shutdown_timeout
    assert rc == 0
    assert "SIGTERM again, stopping now" in srv.log()
    srv.proc = None
    stalled.close()


def test_user_add_reaches_a_running_server_at_once_and_enables_auth(tmp_path):
    srv = Server(tmp_path / "s", smtp_extra={"submission_listen": '["127.0.0.1:0"]'},
                 sections={"tls": {"enabled": "true"}, "auth": {"plaintext_on_loopback": "true"}}).start()
    try:
        with smtplib.SMTP("127.0.0.1", srv.ports["submission"], local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            assert not s.has_extn("auth"), "no user exists: AUTH is not offered"
            code, _ = s.mail("a@example.org")
            assert code == 530  # submission still requires it
        r = srv.user("add", "alice", "pw-alice-1")
        assert "told the running server" in r.stderr, r.stderr
        # No wait for the 5 s poll: the SIGHUP makes it effective at once (bounded retry
        # only for the signal's delivery).
        deadline = time.monotonic() + 2
        while "1 user(s) from" not in srv.log() and time.monotonic() < deadline:
            time.sleep(0.02)
        with smtplib.SMTP("127.0.0.1", srv.ports["submission"], local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            assert s.has_extn("auth")
            s.login("alice", "pw-alice-1")
            s.sendmail("alice@example.test", ["demo@example.test"], "Subject: after add\r\n\r\nhi\r\n")
        assert len(srv.find("Subject: after add")) == 1
    finally:
        srv.stop()


def test_each_rejection_is_one_log_line(tmp_path):
    srv = Server(tmp_path / "s").start()
    try:
        with srv.smtp() as s:
            s.ehlo()
            s.mail("sender@example.org")
            assert s.rcpt("x@gmail.com")[0] == 554
            assert s.rcpt("nobody@example.test")[0] == 550
        log = srv.log()
        relay = [l for l in log.splitlines() if "NOQUEUE: reject: RCPT" in l and "x@gmail.com" in l]
        unknown = [l for l in log.splitlines() if "NOQUEUE: reject: RCPT" in l and "nobody@example.test" in l]
        assert len(relay) == 1 and "554 5.7.1" in relay[0] and "from=<sender@example.org>" in relay[0], log
        assert len(unknown) == 1 and "550 5.1.1" in unknown[0], log
        assert "helo=<client.test>" in relay[0]
    finally:
        srv.stop()
