# Production mode (issue 19): who the server runs as, and what it tells a service manager.
# - started as root with [server] user, every thread runs as that account (real, effective,
#   saved uid and gid; no supplementary root group; NoNewPrivs) while it serves mail, the
#   mail it stores is the account's, the account cannot write outside the data directory,
#   and a restart works on the files the first run created;
# - started as the account itself with CAP_NET_BIND_SERVICE (systemd's way) it serves a port
#   below 1024 as is;
# - root without `user` refuses a public listener (before binding anything); an unknown
#   user is a clear error;
# - `cloudsdial status` answers through the control socket (exit 3 when not running);
# - sd_notify: READY=1 with a STATUS line, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1;
# - under a journal stream (JOURNAL_STREAM matches stderr) lines carry "<N>" priorities.
# The root-only tests use the system account "nobody" (Debian: uid 65534, group nogroup).
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Server, find_binary, wait_until

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (privilege drop)")

# LeakSanitizer stops the world with ptrace, which a process that changed its uids (no
# longer dumpable, as the kernel makes it on setuid) refuses: leak checks stay on in every
# other test of the same server code.
NO_LSAN = {"ASAN_OPTIONS": "abort_on_error=0:detect_leaks=0"}


@pytest.fixture
def shared_root():
    """A directory the unprivileged account can traverse (pytest's tmp_path is 0700 root)."""
    base = Path(tempfile.mkdtemp(prefix="cloudsdial-priv-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def proc_ids(pid):
    """{"Uid": [...4], "Gid": [...4], "Groups": [...], "NoNewPrivs": "1"} for every thread."""
    threads = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = {}
        for line in (task / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups", "NoNewPrivs"):
                fields[key] = value.split()
        threads.append(fields)
    return threads


def can_write_as(uid, gid, path: Path):
    """Whether the account can create a file in `path` (setpriv runs `touch` as it)."""
    probe = path / f".probe-{os.getpid()}"
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "touch", str(probe)],
                       capture_output=True)
    if r.returncode == 0:
        probe.unlink()
    return r.returncode == 0


@needs_root
def test_root_start_drops_to_the_account_and_still_delivers(shared_root):
    nobody = pwd.getpwnam("nobody")
    srv = Server(shared_root / "s", server_extra={"user": '"nobody"'})
    srv.start(env_extra=NO_LSAN)
    try:
        log = srv.log()
        assert "running as nobody (uid 65534)" in log, log
        assert "running as root" not in log, log
        threads = proc_ids(srv.pid())
        assert len(threads) >= 1
        for t in threads:
            assert t["Uid"] == [str(nobody.pw_uid)] * 4, t
            assert t["Gid"] == [str(nobody.pw_gid)] * 4, t
            assert "0" not in t.get("Groups", []), t
            assert t["NoNewPrivs"] == ["1"], t

        with srv.smtp() as s:
            s.sendmail("sender@client.test", ["demo@example.test"], b"Subject: dropped\r\n\r\npriv-token-1\r\n")
        stored = srv.find("priv-token-1")
        assert len(stored) == 1
        files = [p for p in srv.maildir().rglob("*") if p.is_file() and b"priv-token-1" in p.read_bytes()]
        assert files and all(p.stat().st_uid == nobody.pw_uid for p in files)
        # The whole data dir is the account's; the pid file too (a restart as it must work).
        for p in [srv.data_dir, *srv.data_dir.rglob("*")]:
            assert p.lstat().st_uid == nobody.pw_uid, p
        assert (srv.data_dir.stat().st_mode & 0o777) == 0o700

        # The account writes in the data dir, and nowhere the server's files or the system live.
        assert can_write_as(nobody.pw_uid, nobody.pw_gid, srv.data_dir)
        assert not can_write_as(nobody.pw_uid, nobody.pw_gid, srv.root)  # the config file's dir
        assert not can_write_as(nobody.pw_uid, nobody.pw_gid, Path("/etc"))
        assert not can_write_as(nobody.pw_uid, nobody.pw_gid, Path(find_binary()).parent)
    finally:
        srv.stop()

    # A restart on the files the first run created (index, queue, TLS key, pid file).
    srv.start(env_extra=NO_LSAN)
    try:
        assert len(srv.find("priv-token-1")) == 1
        with srv.smtp() as s:
            s.sendmail("sender@client.test", ["demo@example.test"], b"Subject: again\r\n\r\npriv-token-2\r\n")
        assert len(srv.find("priv-token-2")) == 1
    finally:
        srv.stop()


@needs_root
def test_user_added_as_root_stays_readable_by_the_running_server(shared_root):
    srv = Server(shared_root / "s", server_extra={"user": '"nobody"'}, sections={"auth": {"plaintext_on_loopback": "true"}})
    srv.start(env_extra=NO_LSAN)
    try:
        srv.user("add", "alice", "alice-secret")  # as root: the users file is replaced, then given back
        assert (srv.data_dir / "users").stat().st_uid == pwd.getpwnam("nobody").pw_uid

        def logs_in():
            with srv.smtp() as s:
                s.ehlo()
                try:
                    s.login("alice", "alice-secret")
                    return True
                except Exception:
                    return False
        wait_until(logs_in, what="alice can log in")
    finally:
        srv.stop()


@needs_root
def test_root_without_user_refuses_a_public_listener(tmp_path):
    srv = Server(tmp_path / "s", smtp_extra={"listen": '["0.0.0.0:0"]'})
    r = subprocess.run([find_binary(), "serve", "--config", str(srv.config_path)], capture_output=True, text=True,
                       timeout=60, cwd=srv.root)
    assert r.returncode == 2, r.stderr
    assert "refusing to run as root with a public listener (0.0.0.0:0)" in r.stderr, r.stderr
    assert "[server] user" in r.stderr
    assert not srv.data_dir.exists()  # refused before anything was bound or created


@needs_root
def test_loopback_only_root_runs_with_a_warning(tmp_path):
    srv = Server(tmp_path / "s")
    srv.start()
    try:
        assert "running as root (no [server] user)" in srv.log()
        srv.assert_healthy()
    finally:
        srv.stop()


def test_unknown_service_user_is_a_clear_error(tmp_path):
    srv = Server(tmp_path / "s", server_extra={"user": '"no-such-cloudsdial-user"'})
    r = subprocess.run([find_binary(), "serve", "--config", str(srv.config_path)], capture_output=True, text=True,
                       timeout=60, cwd=srv.root)
    assert r.returncode == 2, r.stderr
    assert "no user 'no-such-cloudsdial-user'" in r.stderr, r.stderr


def status(srv, *args):
    return subprocess.run([find_binary(), "status", *args, "--config", str(srv.config_path)], capture_output=True,
                          text=True, timeout=60, cwd=srv.root, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))


def test_status_reports_listeners_sessions_and_queue(tmp_path):
    srv = Server(tmp_path / "s")
    r = status(srv)
    assert r.returncode == 3, r.stdout + r.stderr  # not running (systemctl's code)
    assert "not running" in r.stderr
    srv.start()
    try:
        with srv.connect() as c:  # one open SMTP session while we ask
            c.greet()
            r = status(srv, "--json")
            assert r.returncode == 0, r.stderr
            doc = json.loads(r.stdout)
            assert doc["ok"] is True and doc["pid"] == srv.pid()
            assert doc["sessions"]["smtp"] == 1 and doc["sessions"]["total"] == 1
            assert {"endpoint": f"127.0.0.1:{srv.port}", "serves": "smtp"} in doc["listeners"]
            assert doc["queue"] == {"messages": 0, "active_connections": 0}
            assert doc["uptime_seconds"] >= 0
        text = status(srv)
        assert text.returncode == 0, text.stderr
        assert f"running (pid {srv.pid()})" in text.stdout
        assert f"listening on 127.0.0.1:{srv.port} (smtp)" in text.stdout
        assert "queue: 0 message(s)" in text.stdout
    finally:
        srv.stop()


def test_sd_notify_ready_reloading_stopping(tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(30)
    srv = Server(tmp_path / "s")
    try:
        srv.start(env_extra={"NOTIFY_SOCKET": sock_path})
        ready = listener.recv(4096).decode()
        assert "READY=1" in ready and f"MAINPID={srv.pid()}" in ready, ready
        assert "STATUS=serving: 0 sessions" in ready, ready
        srv.proc.send_signal(signal.SIGHUP)
        reloading = listener.recv(4096).decode()
        assert reloading.startswith("RELOADING=1\nMONOTONIC_USEC="), reloading
        assert int(reloading.split("MONOTONIC_USEC=")[1]) > 0
        again = listener.recv(4096).decode()
        assert again.startswith("READY=1"), again
        srv.stop()
        stopping = listener.recv(4096).decode()
        assert stopping.startswith("STOPPING=1"), stopping
    finally:
        if srv.proc is not None:
            srv.stop()
        listener.close()


def test_journal_stream_gets_priority_prefixes(tmp_path):
    srv = Server(tmp_path / "s")
    # The server's stderr is the log file Server.start opens: make JOURNAL_STREAM name it.
    srv.starts += 1
    log_path = srv.root / f"server.{srv.starts}.log"
    log_path.touch()
    st = log_path.stat()
    srv.starts -= 1
    srv.start(env_extra={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    try:
        lines = [l for l in srv.log().splitlines() if l.strip()]
        assert "<6>cloudsdial: listening on 127.0.0.1:" in srv.log(), lines
        assert all(re.match(r"<[3467]>", l) for l in lines), lines  # every line: a priority,
        assert not any(l[3:7].isdigit() for l in lines), lines  # and no time stamp of our own
    finally:
        srv.stop()


def free_low_port():
    """A port below 1024 free on 127.0.0.1 (only root or CAP_NET_BIND_SERVICE may bind it)."""
    for port in range(900, 1024):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port below 1024 on 127.0.0.1")


@needs_root
def test_started_as_the_account_with_net_bind_capability_serves_a_low_port(shared_root):
    """systemd's way (User=cloudsdial, AmbientCapabilities=CAP_NET_BIND_SERVICE): the server
    starts as the account itself, binds a port below 1024 and runs as is."""
    nobody = pwd.getpwnam("nobody")
    port = free_low_port()
    root = shared_root / "cap"
    root.mkdir()
    data = root / "var"
    data.mkdir(mode=0o700)
    os.chown(data, nobody.pw_uid, nobody.pw_gid)
    config = root / "c.toml"
    config.write_text(f'[server]\ndata_dir = "{data}"\nuser = "nobody"\n[smtp]\nlisten = ["127.0.0.1:{port}"]\n'
                      '[tls]\nenabled = false\n[domains]\nlocal = ["example.test"]\n[[users]]\nname = "demo"\n')
    log_path = root / "log.txt"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                                 "--inh-caps", "+net_bind_service", "--ambient-caps", "+net_bind_service",
                                 find_binary(), "serve", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **NO_LSAN))
    try:
        wait_until(lambda: "ready" in log_path.read_text() or proc.poll() is not None, what="ready")
        text = log_path.read_text()
        assert f"listening on 127.0.0.1:{port}" in text, text
        assert "running as root" not in text and "refusing" not in text, text
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert f"Uid:\t{nobody.pw_uid}\t{nobody.pw_uid}\t{nobody.pw_uid}\t{nobody.pw_uid}" in status, status
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.sendmail("a@client.test", ["demo@example.test"], b"Subject: cap\r\n\r\ncap-token\r\n")
        stored = [p for p in (data / "mail" / "demo" / "Maildir" / "new").iterdir() if b"cap-token" in p.read_bytes()]
        assert len(stored) == 1 and stored[0].stat().st_uid == nobody.pw_uid
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()
