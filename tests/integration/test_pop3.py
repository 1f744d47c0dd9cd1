# POP3 interop: Python's poplib (an independent client) against the real `cloudsdial serve`
# on loopback (RFC 1939 with CAPA/RESP-CODES RFC 2449, STLS RFC 2595, SASL RFC 5034, UTF8
# RFC 6856). Every poplib method; QUIT deletes durably and IMAP sees it; a dropped
# connection deletes nothing; a second POP3 session gets [IN-USE] while IMAP still works;
# implicit TLS (995-equivalent). fetchmail (Debian) downloads and deletes 1,000 messages
# over STLS and implicit TLS when it is installed. Standard library only; no timing asserts.
import base64
import imaplib
import os
import poplib
import shutil
import smtplib
import ssl
import subprocess
import time

import pytest

from conftest import IMAP_USERS, Server, unverified_tls, wait_until

USER = "alice"
PASSWORD = IMAP_USERS["alice"]


def sections():
    return {"imap": {"listen": '["127.0.0.1:0"]', "tls_listen": '["127.0.0.1:0"]'},
            "pop3": {"listen": '["127.0.0.1:0"]', "tls_listen": '["127.0.0.1:0"]'},
            "tls": {"enabled": "true"},
            "auth": {"plaintext_on_loopback": "true", "failure_delay": '"0s"'}}


@pytest.fixture(scope="module")
def pop3_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("pop3"), users=[], sections=sections())
    for name, password in IMAP_USERS.items():
        srv.user("add", name, password)
    srv.start()
    assert set(srv.pop3_ports) == {"pop3", "pop3s"}, srv.log()
    yield srv
    if srv.proc is not None:
        srv.stop()


def message(subject, body):
    return (f"From: sender@example.test\r\nTo: {USER}@example.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.test>\r\n\r\n{body}").encode()


def imap(srv, user=USER):
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"])
    m.login(user, IMAP_USERS[user])
    return m


def fill(srv, user, messages):
    """Empties `user`'s INBOX over IMAP and appends `messages` (bytes) in order."""
    m = imap(srv, user)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "ALL")
    if data[0]:
        m.uid("STORE", b",".join(data[0].split()).decode(), "+FLAGS.SILENT", r"(\Deleted)")
        m.expunge()
    for raw in messages:
        assert m.append("INBOX", None, None, raw)[0] == "OK"
    m.logout()


def inbox_subjects(srv, user=USER):
    m = imap(srv, user)
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    m.logout()
    return sorted(part[1].decode().split(":", 1)[1].strip() for part in data if isinstance(part, tuple))


def pop(srv, user=USER):
    p = poplib.POP3("127.0.0.1", srv.pop3_ports["pop3"], timeout=30)
    p.user(user)
    p.pass_(IMAP_USERS[user])
    return p


def test_capa_and_greeting_rfc2449(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    for cap in ("TOP", "USER", "UIDL", "RESP-CODES", "PIPELINING", "STLS", "UTF8", "SASL", "EXPIRE",
                "LOGIN-DELAY", "IMPLEMENTATION"):
        assert cap in caps, caps
    assert "SCRAM-SHA-256" in caps["SASL"] and "PLAIN" in caps["SASL"]
    assert caps["EXPIRE"] == ["NEVER"]
    p.quit()


def test_stat_list_retr_top_uidl_noop_rfc1939(pop3_server):
    fill(pop3_server, USER, [message("one", "first\r\n"), message("two", ".dotted\r\nline\r\n..x\r\n"),
                             message("three", "a\r\nb\r\nc\r\nd\r\n")])
    p = pop(pop3_server)
    count, octets = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    sizes = {int(n): int(s) for n, s in (line.split() for line in listing)}
    assert sum(sizes.values()) == octets
    for n in (1, 2, 3):
        resp, lines, total = p.retr(n)
        raw = b"\r\n".join(lines) + b"\r\n"
        # LIST's size is exactly the octets RETR sends before dot-stuffing (RFC 1939 §11).
        assert len(raw) == sizes[n], (n, raw)
        assert p.list(n).split()[2] == str(sizes[n]).encode()
    resp, lines, _ = p.retr(2)
    assert b".dotted" in lines and b"..x" in lines  # unstuffed by poplib
    resp, lines, _ = p.top(3, 2)
    assert lines[-3:] == [b"", b"a", b"b"], lines
    resp, uidls, _ = p.uidl()
    ids = [line.split()[1] for line in uidls]
    assert len(set(ids)) == 3 and all(1 <= len(i) <= 70 for i in ids)
    assert p.uidl(1).split()[2] == ids[0]
    assert p.noop().startswith(b"+OK")
    p.quit()
    # UIDL is stable across sessions.
    p = pop(pop3_server)
    assert [line.split()[1] for line in p.uidl()[1]] == ids
    p.quit()


def test_dele_rset_then_quit_deletes_and_imap_sees_it_rfc1939_6(pop3_server):
    fill(pop3_server, USER, [message(f"m{i}", "x\r\n") for i in range(4)])
    p = pop(pop3_server)
    p.dele(1)
    p.rset()
    assert p.stat()[0] == 4
    p.dele(2)
    p.dele(4)
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    assert p.quit().startswith(b"+OK")
    assert inbox_subjects(pop3_server) == ["m0", "m2"]


def test_dropped_connection_deletes_nothing_rfc1939_6(pop3_server):
    fill(pop3_server, USER, [message(f"d{i}", "x\r\n") for i in range(3)])
    p = pop(pop3_server)
    p.dele(1)
    p.dele(2)
    p.sock.close()  # no QUIT: no UPDATE state
    p.file.close()
    wait_until(lambda: _can_login(pop3_server))
    assert inbox_subjects(pop3_server) == ["d0", "d1", "d2"]


def _can_login(srv):
    try:
        p = pop(srv)
    except poplib.error_proto:
        return False
    p.quit()
    return True


def test_second_session_in_use_while_imap_works_rfc2449_8_1_2(pop3_server):
    fill(pop3_server, USER, [message("held", "x\r\n")])
    p = pop(pop3_server)
    q = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    q.user(USER)
    with pytest.raises(poplib.error_proto) as refused:
        q.pass_(PASSWORD)
    assert b"[IN-USE]" in refused.value.args[0]
    q.quit()
    assert inbox_subjects(pop3_server) == ["held"]  # IMAP is not blocked
    p.quit()
    q = pop(pop3_server)  # the lock went with the first session
    q.quit()


def test_wrong_password_is_auth_code_rfc3206(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    p.user(USER)
    with pytest.raises(poplib.error_proto) as failed:
        p.pass_("wrong")
    assert b"[AUTH]" in failed.value.args[0]
    p.quit()


def test_apop_refused(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    with pytest.raises(poplib.error_proto):
        p.apop(USER, PASSWORD)  # no timestamp in the greeting: poplib refuses itself or we do
    p.quit()


def test_rpop_refused(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    with pytest.raises(poplib.error_proto):
        p.rpop(USER)  # RPOP (RFC 1081) is not POP3: unknown command
    p.quit()


def test_stls_then_login_rfc2595(pop3_server):
    fill(pop3_server, USER, [message("tls", "secret\r\n")])
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    p.stls(context=unverified_tls())
    assert "STLS" not in p.capa()
    p.user(USER)
    p.pass_(PASSWORD)
    assert b"secret" in p.retr(1)[1]
    p.quit()


def test_implicit_tls_rfc8314(pop3_server):
    p = poplib.POP3_SSL("127.0.0.1", pop3_server.pop3_ports["pop3s"], context=unverified_tls(), timeout=30)
    assert "STLS" not in p.capa()
    p.user(USER)
    p.pass_(PASSWORD)
    p.stat()
    p.quit()


def test_utf8_rfc6856(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    assert p.utf8().startswith(b"+OK")
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()


def test_auth_plain_initial_response_rfc5034(pop3_server):
    p = poplib.POP3("127.0.0.1", pop3_server.pop3_ports["pop3"], timeout=30)
    ir = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    assert p._shortcmd(f"AUTH PLAIN {ir}").startswith(b"+OK")
    p.stat()
    p.quit()


def test_retr_of_30mb_message_streams_intact(pop3_server):
    """A 30 MB message goes out in pieces (512 KiB each) and arrives byte for byte; lines
    starting with '.' survive the stuffing."""
    user = "carol"
    line = b"x" * 76 + b"\r\n"
    body = b"".join((b"." if i % 1000 == 0 else b"") + line for i in range(30 * 1024 * 1024 // len(line)))
    raw = b"Subject: big\r\nFrom: a@example.test\r\n\r\n" + body
    fill(pop3_server, user, [raw])
    p = pop(pop3_server, user)
    assert p.list(1).split()[2] == str(len(raw)).encode()
    resp, lines, octets = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == raw
    p.quit()


# ------------------------------------------------------------------ fetchmail
FETCHMAIL = shutil.which("fetchmail")


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail is not installed (Debian package fetchmail)")
@pytest.mark.parametrize("mode", ["stls", "implicit"])
def test_fetchmail_downloads_and_deletes_1000(pop3_server, tmp_path, mode):
    user = "bob"
    total = 1000
    m = imap(pop3_server, user)
    m.select("INBOX")
    for i in range(total):
        m.append("INBOX", None, None, message(f"f{i:04d}", f"body {i}\r\n.leading dot\r\n"))
    m.logout()
    out = tmp_path / "mbox"
    rc = tmp_path / "fetchmailrc"
    port = pop3_server.pop3_ports["pop3" if mode == "stls" else "pop3s"]
    # Without `ssl`, sslproto makes fetchmail require STLS (RFC 2595); with it, TLS from the start.
    ssl_opt = "ssl" if mode == "implicit" else ""
    rc.write_text(f"set no bouncemail\npoll 127.0.0.1 proto pop3 port {port} auth password\n"
                  f"  user '{user}' there with password '{IMAP_USERS[user]}' is '{os.environ.get('USER', 'root')}' here\n"
                  f"  {ssl_opt} sslproto 'tls1.2+' no sslcertck nokeep fetchall\n"
                  f"  mda \"sh -c 'cat >> {out}; echo >> {out}'\"\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    run = subprocess.run([FETCHMAIL, "-f", str(rc), "-v", "--nodetach", "--nosyslog"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # -v logs the dialog: STLS was really used on the plain port, never on the TLS one.
    assert ("POP3> STLS" in run.stdout + run.stderr) == (mode == "stls"), run.stderr[:3000]
    data = out.read_bytes()
    for i in range(total):
        assert f"Subject: f{i:04d}".encode() in data
    assert data.count(b"\n.leading dot") == total  # unstuffed intact
    m = imap(pop3_server, user)
    typ, count = m.select("INBOX")
    assert int(count[0]) == 0
    m.logout()


@pytest.fixture(scope="module")
def pop3_idle_server(tmp_path_factory):
    # [pop3] idle_timeout below RFC 1939 §3's 10 minutes is for tests (app/config.h); the
    # config takes 1s..24h.
    s = sections()
    s["pop3"] = dict(s["pop3"], idle_timeout='"1s"')
    srv = Server(tmp_path_factory.mktemp("pop3idle"), users=[], sections=s)
    srv.user("add", USER, PASSWORD)
    srv.start()
    yield srv
    if srv.proc is not None:
        srv.stop()


def test_idle_timeout_autologout_without_update_rfc1939_3(pop3_idle_server):
    # RFC 1939 §3: the inactivity autologout timer ends the session "without entering the
    # UPDATE state": the server says -ERR and closes; the DELEs marked before are not applied.
    srv = pop3_idle_server
    fill(srv, USER, [message(f"i{i}", "x\r\n") for i in range(3)])
    p = pop(srv)
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(3).startswith(b"+OK")
    time.sleep(3)  # past the 1s idle timeout; the reads below block until the server acts anyway
    assert p.file.readline() == b"-ERR Autologout; idle for too long\r\n"
    assert p.file.readline() == b""  # then the connection is closed
    p.sock.close()
    p.file.close()
    wait_until(lambda: _can_login(srv))  # the maildrop lock is released
    assert inbox_subjects(srv) == ["i0", "i1", "i2"]
