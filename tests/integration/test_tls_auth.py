# TLS and AUTH against the real binary on loopback (issue 4): `openssl s_client
# -starttls smtp` and implicit TLS on the submissions port (RFC 8314), Python smtplib
# starttls()+login() verifying the generated certificate, swaks --tls/--tlsc with AUTH
# PLAIN/LOGIN, SCRAM-SHA-256 (RFC 7677) from a small client, the STARTTLS injection
# cases (CVE-2011-0411), 538 before TLS, 530 on submission, and failed AUTH that looks the
# same for real and unknown users, then locks the client out.
import base64
import hashlib
import hmac
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from conftest import HOSTNAME, RawClient, Server

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("tls"),
                 smtp_extra={"submission_listen": '["127.0.0.1:0"]', "submissions_listen": '["127.0.0.1:0"]'},
                 sections={"tls": {"enabled": "true"},
                           "auth": {"failure_delay": '"0s"', "failure_delay_max": '"0s"',
                                    "ip_failures_max": "100000", "user_failures_max": "100000"}})
    srv.user("add", "alice", PASSWORD)
    srv.start()
    yield srv
    srv.stop()


def cafile(srv):
    return str(srv.data_dir / "tls" / "cert.pem")


def tls_context(srv):
    ctx = ssl.create_default_context(cafile=cafile(srv))
    ctx.check_hostname = True
    return ctx


def starttls_verified(s, srv):
    """smtplib.starttls() verifying chain and name: smtplib checks the name it connected to
    (127.0.0.1), so tell it the server's host name, as a client that connected by name would."""
    s._host = HOSTNAME
    return s.starttls(context=tls_context(srv))


def s_client(args, stdin_data, timeout=20):
    # -ign_eof: keep reading after stdin ends, until the server closes (after QUIT).
    r = subprocess.run(["openssl", "s_client", "-brief", "-ign_eof", *args], input=stdin_data, capture_output=True,
                       timeout=timeout)
    return r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")


def test_self_signed_certificate_was_generated_and_announced(tls_server):
    assert (tls_server.data_dir / "tls" / "cert.pem").exists()
    key = tls_server.data_dir / "tls" / "key.pem"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0
    assert "generated a self-signed certificate" in tls_server.log()


def test_rfc3207_openssl_starttls_negotiates_tls13(tls_server):
    out = s_client(["-starttls", "smtp", "-connect", f"127.0.0.1:{tls_server.ports['smtp']}", "-CAfile",
                    cafile(tls_server), "-verify_hostname", HOSTNAME], b"EHLO client.test\r\nQUIT\r\n")
    assert "Protocol version: TLSv1.3" in out, out
    assert "Verification: OK" in out, out
    assert "250-AUTH SCRAM-SHA-256 PLAIN LOGIN" in out, out
    assert "STARTTLS" not in out.split("Protocol version")[1], out  # not offered again (§4.2)


def test_rfc8314_implicit_tls_on_submissions(tls_server):
    out = s_client(["-connect", f"127.0.0.1:{tls_server.ports['submissions']}", "-CAfile", cafile(tls_server)],
                   b"EHLO client.test\r\nQUIT\r\n")
    assert "Protocol version: TLSv1.3" in out, out
    assert "220 " in out and "ESMTP" in out, out
    assert "250-AUTH SCRAM-SHA-256 PLAIN LOGIN" in out, out


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_smtplib_starttls_login_and_delivery(tls_server, mechanism):
    with tls_server.smtp() as s:
        s.ehlo()
        assert "auth" not in s.esmtp_features or "plain" not in s.esmtp_features["auth"].lower()
        starttls_verified(s, tls_server)
        s.ehlo()
        s.user, s.password = "alice", PASSWORD
        code, _ = s.auth(mechanism, getattr(s, "auth_" + mechanism.lower()), initial_response_ok=True)
        assert code == 235
        token = f"tls-auth-{mechanism}"
        s.sendmail("alice@example.test", ["demo@example.test"], f"Subject: {token}\r\n\r\nhello\r\n")
    stored = tls_server.find(token)
    assert len(stored) == 1
    assert b"with ESMTPSA" in stored[0]  # RFC 3848


def test_smtplib_on_submissions_port(tls_server):
    import smtplib
    with smtplib.SMTP_SSL("127.0.0.1", tls_server.ports["submissions"], local_hostname="client.test",
                          context=tls_context_for_ip(tls_server), timeout=30) as s:
        s.login("alice", PASSWORD)
        s.sendmail("alice@example.test", ["demo@example.test"], "Subject: via-465\r\n\r\nhello\r\n")
    assert len(tls_server.find("via-465")) == 1


def tls_context_for_ip(srv):
    # SMTP_SSL connects by IP: verify the chain, not the name.
    ctx = ssl.create_default_context(cafile=cafile(srv))
    ctx.check_hostname = False
    return ctx


def scram_client(raw, user, password):
    """RFC 5802 §3 / RFC 7677 client over SMTP AUTH; returns the final reply code."""
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user},r={nonce}"
    code, lines = raw.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    assert code == 334, lines
    server_first = base64.b64decode(lines[0]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    code, lines = raw.cmd(base64.b64encode(f"{final_bare},p={base64.b64encode(proof).decode()}".encode()).decode())
    if code != 334:
        return code
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    assert base64.b64decode(lines[0]).decode() == "v=" + expected  # the server proved it knows the key
    code, _ = raw.cmd("")
    return code


def test_rfc7677_scram_sha256_without_tls(tls_server):
    with tls_server.connect() as raw:
        lines = raw.greet()
        assert "AUTH SCRAM-SHA-256" in lines  # the only mechanism offered in cleartext
        assert scram_client(raw, "alice", PASSWORD) == 235


def test_scram_wrong_password_is_535(tls_server):
    with tls_server.connect() as raw:
        raw.greet()
        assert scram_client(raw, "alice", "wrong") == 535


def test_rfc4954_plain_before_tls_is_538(tls_server):
    with tls_server.connect() as raw:
        raw.greet()
        code, lines = raw.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode())
        assert code == 538 and lines[0].startswith("5.7.11"), lines


def test_rfc6409_submission_requires_auth(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.ports["submission"]), timeout=30) as sock:
        raw = RawClient(sock)
        raw.greet()
        code, lines = raw.cmd("MAIL FROM:<alice@example.test>")
        assert code == 530 and lines[0].startswith("5.7.0"), lines


def starttls_raw(srv, smuggled: bytes):
    """EHLO, then STARTTLS with `smuggled` in the same write; returns the TLS-wrapped client."""
    sock = socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=30)
    raw = RawClient(sock)
    raw.greet()
    raw.send(b"STARTTLS\r\n" + smuggled)
    code, _ = raw.reply()
    assert code == 220
    assert raw.buf == b"", raw.buf  # nothing answered the smuggled commands in cleartext
    tls = tls_context(srv).wrap_socket(sock, server_hostname=HOSTNAME)
    return RawClient(tls)


def test_cve_2011_0411_rset_pipelined_after_starttls_never_runs(tls_server):
    with starttls_raw(tls_server, b"RSET\r\n") as tls:
        # Had RSET run, its 250 would come before the EHLO reply.
        code, lines = tls.cmd("EHLO client.test")
        assert code == 250 and lines[0] == HOSTNAME, lines
        code, _ = tls.cmd("NOOP")
        assert code == 250


def test_cve_2011_0411_smuggled_mail_never_runs(tls_server):
    with starttls_raw(tls_server, b"MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<demo@example.test>\r\n") as tls:
        code, _ = tls.cmd("EHLO client.test")
        assert code == 250
        code, lines = tls.cmd("RCPT TO:<demo@example.test>")
        assert code == 503, lines  # no MAIL transaction exists: the smuggled MAIL was dropped


def test_rfc3207_state_reset_and_no_second_starttls(tls_server):
    with starttls_raw(tls_server, b"") as tls:
        code, _ = tls.cmd("MAIL FROM:<a@example.test>")
        assert code == 503  # a new EHLO is required after TLS (§4.2)
        tls.cmd("EHLO client.test")
        code, _ = tls.cmd("STARTTLS")
        assert code in (502, 503, 554)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
@pytest.mark.parametrize("mode,kind,mechanism", [("--tls", "smtp", "PLAIN"), ("--tls", "submission", "LOGIN"),
                                                 ("--tlsc", "submissions", "PLAIN")])
def test_swaks_tls_and_auth(tls_server, mode, kind, mechanism):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{tls_server.ports[kind]}", "--to", "demo@example.test",
                        "--from", "alice@example.test", mode, "--auth", mechanism, "--auth-user", "alice",
                        "--auth-password", PASSWORD, "--header", f"Subject: swaks-{kind}-{mechanism}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout, r.stdout
    assert len(tls_server.find(f"swaks-{kind}-{mechanism}")) == 1


def auth_plain_reply(srv, user, password):
    with srv.smtp() as s:
        s.ehlo()
        starttls_verified(s, srv)
        s.ehlo()
        blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return s.docmd("AUTH", "PLAIN " + blob)


def test_failures_look_the_same_for_real_and_unknown_users(tls_server):
    real = {auth_plain_reply(tls_server, "alice", f"wrong-{i}") for i in range(10)}
    unknown = {auth_plain_reply(tls_server, f"nobody{i}", f"wrong-{i}") for i in range(10)}
    assert real == unknown == {(535, b"5.7.8 Authentication credentials invalid")}


def test_lockout_after_the_ip_budget(tmp_path):
    srv = Server(tmp_path, sections={"auth": {"failure_delay": '"0s"', "failure_delay_max": '"0s"',
                                              "ip_failures_max": "5", "user_failures_max": "3"}})
    srv.user("add", "alice", PASSWORD)
    srv.start()
    try:
        replies = [auth_plain_reply(srv, "alice", "wrong")[0] for _ in range(3)]
        assert replies == [535, 535, 535]
        # The user is now over its budget: even the right password is refused, as 535.
        assert auth_plain_reply(srv, "alice", PASSWORD)[0] == 535
        # The IP passes its budget: 421 and the connection closes.
        assert auth_plain_reply(srv, "bob", "wrong")[0] == 421
        assert "client locked out" in srv.log()
    finally:
        srv.stop()


def make_cert(directory, cn):
    cert, key = directory / f"{cn}.crt", directory / f"{cn}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    return cert, key


def test_sighup_reloads_certificate_and_users(tmp_path):
    import signal
    import time
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    cert, key = make_cert(tmp_path, "first.example.test")
    shutil.copy(cert, live_cert)
    shutil.copy(key, live_key)
    srv = Server(tmp_path / "srv", sections={"tls": {"cert": f'"{live_cert}"', "key": f'"{live_key}"'}})
    srv.start()
    try:
        def served_cn():
            out = s_client(["-starttls", "smtp", "-connect", f"127.0.0.1:{srv.ports['smtp']}"], b"QUIT\r\n")
            return out
        assert "CN = first.example.test" in served_cn()
        # A new certificate and a new user, then SIGHUP: both take effect for new connections.
        cert, key = make_cert(tmp_path, "second.example.test")
        shutil.copy(cert, live_cert)
        shutil.copy(key, live_key)
        srv.user("add", "carol", PASSWORD)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while "TLS certificate reloaded" not in srv.log() or "user(s) from" not in srv.log().split("SIGHUP")[-1]:
            assert time.monotonic() < deadline, srv.log()
            time.sleep(0.05)
        assert "CN = second.example.test" in served_cn()
        with srv.connect() as raw:
            raw.greet()
            assert scram_client(raw, "carol", PASSWORD) == 235
        # A broken certificate file: the reload fails, the old certificate stays.
        live_cert.write_text("not a certificate")
        srv.proc.send_signal(signal.SIGHUP)
        while "TLS reload failed" not in srv.log():
            assert time.monotonic() < deadline + 20, srv.log()
            time.sleep(0.05)
        assert "CN = second.example.test" in served_cn()
    finally:
        srv.stop()
