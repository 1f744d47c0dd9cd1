# HTTP interop: Python's http.client and raw sockets (independent clients) against the real
# `cloudsdial serve` on loopback (RFC 9112 HTTP/1.1, RFC 9110 semantics): keep-alive with
# several requests on one connection (RFC 9112 §9.3), pipelined requests answered in order
# (§9.3.2), 404/405/400/413/431, GET /metrics in the Prometheus text format whose SMTP
# counter goes up after a message is delivered with smtplib, and the HTTPS listener
# (implicit TLS with the mail ports' certificate). Standard library only; no timing asserts.
import http.client
import re
import smtplib
import socket

import pytest

from conftest import Server, unverified_tls, wait_until

LIMITS = {"listen": '["127.0.0.1:0"]', "tls_listen": '["127.0.0.1:0"]', "body_limit": '"1KiB"',
          "header_limit": '"4KiB"'}


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("http"), sections={"http": LIMITS, "tls": {"enabled": "true"}})
    srv.start()
    assert set(srv.http_ports) == {"http", "https"}, srv.log()
    yield srv
    if srv.proc is not None:
        srv.stop()


def connect(srv):
    return http.client.HTTPConnection("127.0.0.1", srv.http_ports["http"], timeout=30)


def raw(srv, data: bytes) -> bytes:
    """Sends `data`, half-closes, reads until the server closes."""
    with socket.create_connection(("127.0.0.1", srv.http_ports["http"]), timeout=30) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def metrics(srv) -> dict:
    """GET /metrics parsed as Prometheus text 0.0.4: {series-with-labels: value}."""
    c = connect(srv)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    series, typed = {}, set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert name.startswith("cloudsdial_") and kind in ("counter", "gauge", "histogram"), line
            if kind == "histogram":  # its samples are NAME_bucket{le=...}, NAME_sum, NAME_count
                typed.update({name + "_bucket", name + "_sum", name + "_count"})
            typed.add(name)
        elif line.startswith("# HELP "):
            assert line.split()[2].startswith("cloudsdial_"), line
        else:
            m = re.fullmatch(r'([a-z_:][a-z0-9_:]*)(\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})? (\S+)', line)
            assert m, f"not exposition format: {line!r}"
            assert m.group(1) in typed, f"sample before its # TYPE: {line}"
            series[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return series


def test_rfc9112_9_3_keep_alive_three_requests_on_one_connection(http_server):
    c = connect(http_server)
    for _ in range(3):
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200
        assert r.read()
    assert c.sock is not None  # never closed by the server in between
    c.close()


def test_rfc9112_9_3_2_pipelined_requests_answered_in_order(http_server):
    out = raw(http_server, b"GET /nope-1 HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /nope-3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    statuses = re.findall(rb"^HTTP/1\.1 (\d{3}) ", out, re.M)
    assert statuses == [b"404", b"200", b"404"], out[:400]
    assert b"Connection: close" in out


def test_rfc9110_15_5_5_unknown_path_is_404(http_server):
    c = connect(http_server)
    c.request("GET", "/no-such-page")
    r = c.getresponse()
    assert r.status == 404
    assert r.read()


def test_rfc9110_15_5_6_wrong_method_is_405_with_allow(http_server):
    c = connect(http_server)
    c.request("POST", "/metrics", body=b"x")
    r = c.getresponse()
    r.read()
    assert r.status == 405
    assert "GET" in r.getheader("Allow")


def test_rfc9110_9_3_2_head_has_no_body(http_server):
    c = connect(http_server)
    c.request("HEAD", "/metrics")
    r = c.getresponse()
    assert r.status == 200
    assert int(r.getheader("Content-Length")) > 0
    assert r.read() == b""


def test_rfc9110_10_1_1_expect_100_continue(http_server):
    with socket.create_connection(("127.0.0.1", http_server.http_ports["http"]), timeout=30) as s:
        s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = s.recv(1)
            assert chunk, interim
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        assert s.recv(65536).startswith(b"HTTP/1.1 405 ")


def test_rfc9112_2_2_malformed_request_is_400_and_close(http_server):
    out = raw(http_server, b"THIS IS NOT HTTP\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"Connection: close" in out
    out = raw(http_server, b"GET / HTTP/1.1\r\n\r\n")  # RFC 9112 §3.2: Host is required
    assert out.startswith(b"HTTP/1.1 400 "), out


def test_rfc9110_15_5_14_body_over_the_limit_is_413(http_server):
    c = connect(http_server)
    c.request("POST", "/metrics", body=b"x" * 2048)
    r = c.getresponse()
    assert r.status == 413
    r.read()


def test_rfc6585_5_header_over_the_limit_is_431(http_server):
    c = connect(http_server)
    c.request("GET", "/metrics", headers={"X-Big": "y" * 8192})
    r = c.getresponse()
    assert r.status == 431
    r.read()


def test_metrics_counts_a_message_delivered_over_smtp(http_server):
    before = metrics(http_server)
    assert 'cloudsdial_sessions_active{protocol="http"}' in before
    key = "cloudsdial_smtp_messages_accepted_total"
    with smtplib.SMTP("127.0.0.1", http_server.port, timeout=30) as s:
        s.sendmail("a@remote.test", ["demo@example.test"], b"Subject: m\r\n\r\nhello\r\n")
    wait_until(lambda: metrics(http_server)[key] == before[key] + 1, what="the SMTP counter")
    after = metrics(http_server)
    conn = 'cloudsdial_connections_accepted_total{protocol="smtp"}'
    assert after[conn] >= before[conn] + 1
    # The delivery went through the store's group commit: its fsync and round latencies
    # were observed (histograms: _count is the number of rounds).
    for family in ("cloudsdial_store_fsync_duration_seconds", "cloudsdial_store_group_commit_duration_seconds"):
        count = family + '_count{committer="delivery"}'
        assert after[count] >= before[count] + 1, family
        assert after[family + '_bucket{committer="delivery",le="+Inf"}'] == after[count]
    assert after["cloudsdial_http_request_duration_seconds_count"] >= 1  # the earlier GET /metrics


def test_https_listener_with_the_mail_certificate(http_server):
    c = http.client.HTTPSConnection("127.0.0.1", http_server.http_ports["https"], timeout=30,
                                    context=unverified_tls())
    for _ in range(2):
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200
        assert b"cloudsdial_" in r.read()
    c.close()


def test_config_without_http_serves_none(tmp_path):
    srv = Server(tmp_path)
    srv.start()
    try:
        assert srv.http_ports == {}
        assert "(http)" not in srv.log()
    finally:
        srv.stop()


def test_webmail_page_and_assets_with_csp_nosniff_etag_and_gzip(http_server):
    # The embedded webmail (USER_GUIDE §16): / is the app's page, /assets/ its files, each
    # with the page CSP (no inline script), nosniff (a script is never sniffed as
    # something else), an ETag answered by 304 (RFC 9110 §13.1.2, §15.4.5), and gzip only
    # when asked for (RFC 9110 §12.5.3).
    import gzip
    c = connect(http_server)
    c.request("GET", "/")
    r = c.getresponse()
    page = r.read().decode()
    assert r.status == 200 and r.getheader("Content-Type") == "text/html; charset=utf-8"
    assert '<script type="module" src="/assets/app.js">' in page
    assert "script-src 'self'" in r.getheader("Content-Security-Policy")
    assert "unsafe-inline" not in r.getheader("Content-Security-Policy").split("script-src")[1].split(";")[0]
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    assert r.getheader("Referrer-Policy") == "no-referrer"
    c.request("GET", "/assets/purify.min.js", headers={"Accept-Encoding": "gzip"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 200 and r.getheader("Content-Type").startswith("application/javascript")
    assert r.getheader("Content-Encoding") == "gzip" and b"DOMPurify" in gzip.decompress(body)
    etag = r.getheader("ETag")
    c.request("GET", "/assets/purify.min.js", headers={"If-None-Match": etag})
    r = c.getresponse()
    assert r.status == 304 and r.read() == b""
    c.request("GET", "/assets/app.js")
    r = c.getresponse()
    assert r.getheader("Content-Encoding") is None and b"JMAP" in r.read()
    c.request("GET", "/assets/no-such-file.js")
    r = c.getresponse()
    r.read()
    assert r.status == 404
    c.close()
