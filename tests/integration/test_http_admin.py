# The admin REST API (/admin/api/) and the per-IP request rate limit against the real
# `cloudsdial serve` on loopback, with Python's http.client (an independent client) and
# imaplib: HTTP Basic (RFC 7617) with the configured admin credentials, 401 with
# WWW-Authenticate (RFC 9110 §11.6.1), RFC 7807 problem details; users added over the API log
# in over IMAP at once (one user model) and deleted ones no longer do; the queue operations
# of `cloudsdial queue` on a message deferred to a closed loopback port; 429 with Retry-After
# (RFC 6585 §4) once a loopback client is limited (rate_limit_loopback = true). Standard
# library only; no timing asserts.
import base64
import http.client
import imaplib
import json
import smtplib
import socket

import pytest

from conftest import Server, wait_until

ADMIN = ("admin", "s3cret-admin")


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_server(root, http_extra=None, admin=True, auth_extra=None):
    http = {"listen": '["127.0.0.1:0"]'}
    if admin:
        pw = root / "admin.pw"
        root.mkdir(parents=True, exist_ok=True)
        pw.write_text(ADMIN[1] + "\n", encoding="utf-8")
        http.update({"admin_user": f'"{ADMIN[0]}"', "admin_password_file": f'"{pw}"'})
    http.update(http_extra or {})
    route = f'[[relay.routes]]\ndomain = "remote.test"\nhost = "127.0.0.1"\nport = {closed_port()}\n'
    srv = Server(root, sections={"http": http, "imap": {"listen": '["127.0.0.1:0"]', "tls_listen": "[]"},
                                 "relay": {"trusted_networks": '["127.0.0.0/8"]'},
                                 "auth": {"plaintext_on_loopback": "true", "failure_delay": '"0s"',
                                          **(auth_extra or {})}},
                 users=[("demo", [])], extra_toml=route)
    srv.start()
    assert "http" in srv.http_ports, srv.log()
    return srv


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = admin_server(tmp_path_factory.mktemp("admin"))
    yield s
    if s.proc is not None:
        s.stop()


def call(server, method, path, body=None, auth=ADMIN):
    c = http.client.HTTPConnection("127.0.0.1", server.http_ports["http"], timeout=30)
    headers = {}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    doc = json.loads(raw) if r.getheader("Content-Type", "").startswith("application/") else raw
    return r, doc


def test_rfc7617_missing_credentials_401_with_challenge(srv):
    r, doc = call(srv, "GET", "/admin/api/users", auth=None)
    assert r.status == 401
    assert r.getheader("WWW-Authenticate").startswith('Basic realm="cloudsdial admin"')
    assert r.getheader("Content-Type") == "application/problem+json"  # RFC 7807 §3
    assert doc["status"] == 401 and doc["type"] and doc["detail"]


def test_rfc7617_wrong_password_401_and_counted_in_metrics(srv):
    r, _ = call(srv, "GET", "/admin/api/users", auth=(ADMIN[0], "wrong"))
    assert r.status == 401
    r, _ = call(srv, "GET", "/admin/api/users", auth=("root", ADMIN[1]))
    assert r.status == 401
    c = http.client.HTTPConnection("127.0.0.1", srv.http_ports["http"], timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    line = [l for l in text.splitlines() if l.startswith('cloudsdial_auth_failures_total{protocol="http_admin"}')]
    assert line and float(line[0].split()[-1]) >= 2


def test_users_add_login_over_imap_password_delete(srv):
    r, doc = call(srv, "GET", "/admin/api/users")
    assert r.status == 200 and "carol" not in doc["users"]
    r, doc = call(srv, "POST", "/admin/api/users", {"name": "carol", "password": "first-pw"})
    assert r.status == 201, doc
    r, doc = call(srv, "GET", "/admin/api/users")
    assert "carol" in doc["users"]
    # One user model: the new login has a mailbox and logs in at once.
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=30)
    m.login("carol", "first-pw")
    typ, data = m.select("INBOX")
    assert typ == "OK"
    m.logout()
    # A second add of the same name is a conflict (RFC 7807 problem).
    r, doc = call(srv, "POST", "/admin/api/users", {"name": "carol", "password": "x"})
    assert r.status == 409 and doc["status"] == 409
    r, doc = call(srv, "PUT", "/admin/api/users/carol/password", {"password": "second-pw"})
    assert r.status == 200, doc
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        m.login("carol", "first-pw")
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=30)
    m.login("carol", "second-pw")
    m.logout()
    r, doc = call(srv, "DELETE", "/admin/api/users/carol")
    assert r.status == 200, doc
    r, doc = call(srv, "GET", "/admin/api/users")
    assert "carol" not in doc["users"]
    m = imaplib.IMAP4("127.0.0.1", srv.imap_ports["imap"], timeout=30)
    with pytest.raises(imaplib.IMAP4.error):
        m.login("carol", "second-pw")
    m.logout()
    r, doc = call(srv, "DELETE", "/admin/api/users/carol")
    assert r.status == 404 and doc["status"] == 404


def test_bad_bodies_are_400_problems(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.http_ports["http"], timeout=30)
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    c.request("POST", "/admin/api/users", body=b"{not json", headers={"Authorization": "Basic " + token})
    r = c.getresponse()
    doc = json.loads(r.read())
    assert r.status == 400 and doc["status"] == 400
    r, doc = call(srv, "POST", "/admin/api/users", {"name": "a/b", "password": "pw"})
    assert r.status == 400, doc


def test_domains_and_status(srv):
    r, doc = call(srv, "GET", "/admin/api/domains")
    assert r.status == 200 and doc["domains"] == ["example.test"]
    r, doc = call(srv, "GET", "/admin/api/status")
    assert r.status == 200
    assert doc["version"] and doc["uptime_seconds"] >= 0
    assert doc["connections"]["http"] >= 1  # this request's own connection
    assert "smtp" in doc["connections"] and "imap" in doc["connections"]
    assert doc["users"] >= 0 and doc["queue_messages"] >= 0


def test_queue_list_hold_release_flush_delete(srv):
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=30) as s:
        s.sendmail("demo@example.test", ["someone@remote.test"], b"Subject: q\r\n\r\nqueued\r\n")

    def queued():
        _, doc = call(srv, "GET", "/admin/api/queue")
        return doc["messages"]
    wait_until(lambda: len(queued()) == 1, what="the message in the queue")
    qid = queued()[0]["id"]
    r, doc = call(srv, "POST", f"/admin/api/queue/{qid}/hold")
    assert r.status == 200, doc
    assert queued()[0]["held"] is True
    r, doc = call(srv, "POST", f"/admin/api/queue/{qid}/release")
    assert r.status == 200, doc
    assert queued()[0]["held"] is False
    r, doc = call(srv, "POST", "/admin/api/queue/flush")
    assert r.status == 200, doc
    r, doc = call(srv, "DELETE", f"/admin/api/queue/{qid}")
    assert r.status == 200, doc
    wait_until(lambda: queued() == [], what="the queue empty")
    r, doc = call(srv, "DELETE", f"/admin/api/queue/{qid}")
    assert r.status == 404 and doc["status"] == 404


def test_unknown_admin_path_is_404_problem(srv):
    r, doc = call(srv, "GET", "/admin/api/nothing")
    assert r.status == 404 and doc["status"] == 404


def test_rfc9110_15_5_6_wrong_method_is_405_with_allow(srv):
    r, doc = call(srv, "PUT", "/admin/api/status")
    assert r.status == 405 and r.getheader("Allow") == "GET" and doc["status"] == 405
    r, doc = call(srv, "DELETE", "/admin/api/users")
    assert r.status == 405 and r.getheader("Allow") == "GET, POST"
    r, doc = call(srv, "GET", "/admin/api/queue/flush")
    assert r.status == 405 and r.getheader("Allow") == "POST"


def test_admin_failures_share_the_auth_guard_lockout(tmp_path):
    # [auth] ip_failures_max applies to the admin API like to IMAP: past it, even the right
    # credentials are refused from that IP (and look like wrong ones).
    s = admin_server(tmp_path / "guard", auth_extra={"ip_failures_max": "3"})
    try:
        r, _ = call(s, "GET", "/admin/api/status")
        assert r.status == 200
        for _ in range(4):
            r, _ = call(s, "GET", "/admin/api/status", auth=(ADMIN[0], "guess"))
            assert r.status == 401
        r, _ = call(s, "GET", "/admin/api/status")
        assert r.status == 401
    finally:
        s.stop()


def test_admin_api_off_without_credentials_is_404(tmp_path):
    s = admin_server(tmp_path / "off", admin=False)
    try:
        r, _ = call(s, "GET", "/admin/api/users")
        assert r.status == 404
        r, _ = call(s, "GET", "/admin/api/status", auth=None)
        assert r.status == 404
    finally:
        s.stop()


def test_rfc6585_4_rate_limit_429_with_retry_after_on_loopback_when_asked(tmp_path):
    s = admin_server(tmp_path / "rate", http_extra={"requests_per_second": "1", "request_burst": "3",
                                                    "rate_limit_loopback": "true"})
    try:
        c = http.client.HTTPConnection("127.0.0.1", s.http_ports["http"], timeout=30)
        statuses = []
        retry_after = None
        for _ in range(200):
            c.request("GET", "/metrics")
            r = c.getresponse()
            r.read()
            statuses.append(r.status)
            if r.status == 429:
                retry_after = r.getheader("Retry-After")
                break
        # A full bucket admits the burst of 3; 200 requests at 1 per second would take minutes.
        assert statuses[:3] == [200, 200, 200]
        assert 429 in statuses
        assert retry_after is not None and int(retry_after) >= 1
    finally:
        s.stop()


def test_loopback_exempt_from_rate_limit_by_default(tmp_path):
    s = admin_server(tmp_path / "exempt", http_extra={"requests_per_second": "1", "request_burst": "1"})
    try:
        c = http.client.HTTPConnection("127.0.0.1", s.http_ports["http"], timeout=30)
        for _ in range(10):
            c.request("GET", "/metrics")
            r = c.getresponse()
            r.read()
            assert r.status == 200
    finally:
        s.stop()
