# The embedded server's HTTP side (issue 16): its listeners (http_ports, http_url), GET
# /metrics in the Prometheus text format (counters that move with real traffic: an SMTP
# delivery, RFC 9112 requests with http.client), HTTPS with the mail certificate (implicit
# TLS, RFC 8314 style), and http=False leaving HTTP out.
import http.client
import ssl
import urllib.request

import pytest

import cloudsdial


def _metric(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{series} not in /metrics")


def test_http_ports_and_metrics_move_with_a_delivery():
    with cloudsdial.Server(users=["alice"]) as srv:
        ports = srv.http_ports
        assert set(ports) == {"http", "https"} and srv.port not in ports.values()
        assert srv.http_url == f"http://127.0.0.1:{srv.http_port}"
        with urllib.request.urlopen(srv.http_url + "/metrics", timeout=30) as r:
            assert r.status == 200
            before = r.read().decode()
        with srv.smtp() as s:
            s.sendmail("app@example.org", ["alice@example.test"], "Subject: one\r\n\r\nfirst\r\n")
        srv.wait_for_message(timeout=30)
        with urllib.request.urlopen(srv.http_url + "/metrics", timeout=30) as r:
            after = r.read().decode()
        key = "cloudsdial_smtp_messages_accepted_total"
        assert _metric(after, key) == _metric(before, key) + 1
        # RFC 9110 §15.5.5: an unknown path is 404.
        c = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=30)
        c.request("GET", "/nothing-here")
        assert c.getresponse().status == 404
        c.close()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = http.client.HTTPSConnection("127.0.0.1", ports["https"], timeout=30, context=context)
        tls.request("GET", "/metrics")
        r = tls.getresponse()
        assert r.status == 200 and b"cloudsdial_" in r.read()
        tls.close()


def test_http_can_be_left_out():
    with cloudsdial.Server(users=["alice"], http=False) as srv:
        assert srv.http_ports == {}
        with pytest.raises(cloudsdial.StateError):
            srv.http_url
