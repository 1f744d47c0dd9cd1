# The relay end to end against real third-party parts (issue 13, "Tests and checks"):
# * routing by MX served by dnsmasq ([dns] servers, no static route; RFC 5321 §5.1), a null
#   MX (RFC 7505 §3-4: 5.1.10 at once), NXDOMAIN (bounced, RFC 5321 §5.1) and SERVFAIL
#   (deferred);
# * a greylisting remote (a stdlib SMTP server in this file): 450 4.7.1 on the first RCPT,
#   the message arrives on the retry, exactly once (RFC 5321 §4.5.4.1);
# * an unreachable remote: a "delayed" report (RFC 3461 §4.1 NOTIFY=DELAY), then a "failed"
#   one when the lifetime is over (RFC 3463 §3.5: 5.4.7), both valid RFC 3464 reports;
# * a real Postfix (Debian package) both ways: we relay to it, and it relays to us.
# Every process is started and stopped here, on loopback only: ephemeral ports on
# 127.0.0.1, except the MX case, whose remote must listen on port 25 (127.0.0.2:25).
import email
import email.policy
import email.utils
import json
import smtplib
import socket
import socketserver
import threading
import time

import pytest

import postfix_instance
from conftest import Server, free_port, wait_until

PASSWORD = "correct horse battery staple"


# ---------------------------------------------------------------------------- helpers

def sender_server(tmp_path, extra_toml="", queue=None, dns=None, name="a"):
    """a.test (user alice, AUTH without TLS on loopback, a submission listener)."""
    sections = {"auth": {"plaintext_on_loopback": "true"},
                "queue": {"first_retry": '"1h"', "connect_timeout": '"2s"', **(queue or {})}}
    if dns is not None:
        sections["dns"] = {"servers": f'["{dns}"]', "timeout": '"2s"', "attempts": "1"}
    a = Server(tmp_path / name, domain="a.test", hostname="mx.a.test", users=[("alice", [])], sections=sections,
               smtp_extra={"submission_listen": '["127.0.0.1:0"]'}, extra_toml=extra_toml)
    a.user("add", "alice", PASSWORD)
    return a


def route(domain, port, tls="none"):
    return f"""
[[relay.routes]]
domain = "{domain}"
host = "127.0.0.1"
port = {port}
tls = "{tls}"
"""


def submit(a, to, body, sender="alice@a.test", rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        s.login("alice", PASSWORD)
        return s.sendmail(sender, to, body, rcpt_options=list(rcpt_options))


def queue_json(a):
    return json.loads(a.queue("list", "--json").stdout)


def queue_empty(a):
    return "Mail queue is empty" in a.queue("list").stdout


def parse_dsn(raw):
    """(message, per-message fields, [recipient groups]) of an RFC 3464 report, asserting
    its RFC 6522 shape on the way."""
    assert raw.startswith(b"Return-Path: <>"), raw[:200]  # RFC 3461 §6.1: sent from <>
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    assert parts[2].get_content_type() in ("text/rfc822-headers", "message/rfc822")
    groups = parts[1].get_payload()
    assert len(groups) >= 2
    assert groups[0]["Reporting-MTA"] == "dns; mx.a.test"
    assert groups[0]["Arrival-Date"] is not None
    return msg, groups[0], groups[1:]


def final_recipient(group):
    return group["Final-Recipient"].replace(" ", "")


# ---------------------------------------------------------------------------- 1. MX by dnsmasq

def can_bind(host, port):
    s = socket.socket()
    # As the server binds (SO_REUSEADDR): TIME_WAIT from an earlier run must not skip us.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_mx_from_dnsmasq_routes_to_the_exchange_on_port_25_rfc5321_s5_1(tmp_path, dnsmasq):
    # RFC 5321 §5.1: the MX record's host, its A record, port 25. 127.0.0.2 keeps the
    # exchange apart from A's own 127.0.0.1, which the router would treat as a loop.
    if not can_bind("127.0.0.2", 25):
        pytest.skip("cannot bind 127.0.0.2:25 (needs root or CAP_NET_BIND_SERVICE, and the port free)")
    dns = dnsmasq(mx={"b.test": [(10, "mx.b.test")]}, hosts={"mx.b.test": "127.0.0.2"})
    b = Server(tmp_path / "b", domain="b.test", hostname="mx.b.test", users=[("bob", [])],
               smtp_extra={"listen": '["127.0.0.2:25"]'})
    a = sender_server(tmp_path, dns=dns)
    try:
        b.start()
        assert b.port == 25
        a.start()
        submit(a, ["bob@b.test"], b"Subject: by mx\r\n\r\nfound through DNS\r\n")
        wait_until(lambda: len(b.messages("bob")) == 1, what="delivery at mx.b.test")
        msg = email.message_from_bytes(b.messages("bob")[0], policy=email.policy.default)
        assert msg["Subject"] == "by mx"
        received = msg.get_all("Received")
        assert any("by mx.b.test" in r and "127.0.0.1" in r for r in received), received
        wait_until(lambda: queue_empty(a), what="an empty queue at a.test")
        assert "status=sent" in a.log()
        assert "mx.b.test" in a.log()
    finally:
        for srv in (a, b):
            if srv.proc is not None:
                srv.stop()


@pytest.fixture
def dns_sender(tmp_path, dnsmasq):
    """a.test resolving through a dnsmasq that knows null.test (null MX), dead.test
    (SERVFAIL) and nothing else under .test (NXDOMAIN); first_retry is an hour, so any
    bounce seen within the test came from the first attempt."""
    dns = dnsmasq(null_mx=["null.test"], servfail=["dead.test"])
    a = sender_server(tmp_path, dns=dns)
    a.start()
    yield a
    if a.proc is not None:
        a.stop()


def test_null_mx_bounces_at_once_with_5_1_10_rfc7505_s4(dns_sender):
    a = dns_sender
    submit(a, ["nobody@null.test"], b"Subject: to null mx\r\nMessage-ID: <nullmx-1@a.test>\r\n\r\nx\r\n")
    wait_until(lambda: len(a.messages("alice")) == 1, what="the bounce")
    wait_until(lambda: queue_empty(a), what="an empty queue")
    raw = a.messages("alice")[0]
    _, _, groups = parse_dsn(raw)
    assert len(groups) == 1
    assert final_recipient(groups[0]) == "rfc822;nobody@null.test"
    assert groups[0]["Action"] == "failed"
    assert groups[0]["Status"] == "5.1.10"  # RFC 7505 §4.2
    assert "null MX" in groups[0]["Diagnostic-Code"]
    assert b"nullmx-1@a.test" in raw
    assert "status=deferred" not in a.log()  # no attempt was made, none deferred


def test_nxdomain_bounces_at_once_rfc5321_s5_1(dns_sender):
    a = dns_sender
    submit(a, ["nobody@nowhere.test"], b"Subject: to nowhere\r\n\r\nx\r\n")
    wait_until(lambda: len(a.messages("alice")) == 1, what="the bounce")
    wait_until(lambda: queue_empty(a), what="an empty queue")
    _, _, groups = parse_dsn(a.messages("alice")[0])
    assert len(groups) == 1
    assert final_recipient(groups[0]) == "rfc822;nobody@nowhere.test"
    assert groups[0]["Action"] == "failed"
    assert groups[0]["Status"] == "5.1.2"  # RFC 3463 §3.2: bad destination system address
    assert "does not exist" in groups[0]["Diagnostic-Code"]
    assert "status=deferred" not in a.log()


def test_servfail_is_deferred_not_bounced_rfc5321_s5_1(dns_sender):
    a = dns_sender
    submit(a, ["someone@dead.test"], b"Subject: to dead dns\r\n\r\nx\r\n")
    wait_until(lambda: "deferred 1" in a.queue("list").stdout, what="a deferral")
    listing = queue_json(a)
    assert listing["ok"] and len(listing["messages"]) == 1
    entry = listing["messages"][0]
    assert entry["deferred"] == 1
    assert entry["last_reply"].startswith("451 4.4.3"), entry  # RFC 3463 §3.5 directory server failure
    assert "dead.test" in entry["last_reply"]
    # Deferred, not bounced: nothing came back to the sender.
    assert a.messages("alice") == []


# ---------------------------------------------------------------------------- 2. greylisting

class GreylistSmtp(socketserver.ThreadingTCPServer):
    """A minimal SMTP server (RFC 5321 §4.1, no extensions) that greylists: the first RCPT
    of each (sender, recipient) pair gets 450 4.7.1, later ones 250. Records every message."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GreylistHandler)
        self.lock = threading.Lock()
        self.seen = set()
        self.rcpt_replies = []  # (recipient, code) in order
        self.messages = []      # (sender, [recipients], data bytes)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)


class GreylistHandler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, text):
        self.wfile.write(text.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self):
        srv = self.server
        sender, rcpts = None, []
        self.reply("220 greylist.test ESMTP")
        while True:
            line = self.rfile.readline(1024)
            if not line:
                return
            cmd = line.decode("ascii", "replace").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 greylist.test")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].split(" ")[0], []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpt = cmd[8:].split(" ")[0]
                with srv.lock:
                    first = (sender, rcpt) not in srv.seen
                    srv.seen.add((sender, rcpt))
                    srv.rcpt_replies.append((rcpt, 450 if first else 250))
                if first:
                    self.reply("450 4.7.1 greylisted, try again later")
                else:
                    rcpts.append(rcpt)
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("554 5.5.1 no valid recipients")
                    continue
                self.reply("354 go ahead")
                data = b""
                while True:
                    chunk = self.rfile.readline(65536)
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b".") else chunk
                with srv.lock:
                    srv.messages.append((sender, list(rcpts), data))
                sender, rcpts = None, []
                self.reply("250 2.0.0 queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 2.0.0 ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("502 5.5.2 not implemented")


def test_greylisting_remote_gets_the_message_on_the_retry_exactly_once_rfc5321_s4_5_4_1(tmp_path):
    with GreylistSmtp() as grey:
        a = sender_server(tmp_path, extra_toml=route("grey.test", grey.port), queue={"first_retry": '"1s"'})
        a.start()
        try:
            submit(a, ["carol@grey.test"], b"Subject: greylisted\r\nMessage-ID: <grey-1@a.test>\r\n\r\nsecond time lucky\r\n")
            wait_until(lambda: len(grey.messages) == 1, what="delivery on the retry")
            wait_until(lambda: queue_empty(a), what="an empty queue")
            time.sleep(1.5)  # longer than first_retry: a duplicate attempt would have come
            with grey.lock:
                assert grey.rcpt_replies == [("<carol@grey.test>", 450), ("<carol@grey.test>", 250)]
                assert len(grey.messages) == 1
                sender, rcpts, data = grey.messages[0]
            assert sender == "<alice@a.test>" and rcpts == ["<carol@grey.test>"]
            assert b"Message-ID: <grey-1@a.test>" in data and b"second time lucky" in data
            log = a.log()
            assert "status=deferred (450 4.7.1" in log
            assert log.count("status=sent") == 1
            assert a.messages("alice") == []  # no DSN: default NOTIFY, delivered in time
        finally:
            a.stop()


# ---------------------------------------------------------------------------- 3. unreachable

def dsn_time(value):
    return email.utils.parsedate_to_datetime(value).timestamp()


def test_unreachable_remote_warns_then_bounces_after_the_lifetime_rfc3464_rfc3461_s4_1(tmp_path):
    closed = free_port()  # nothing listens there: every connect is refused
    # Lifetime 3 s, first retry after 1 s (then 2 s, cut to the lifetime's end), a delay
    # warning from 1 s: the second failed attempt warns, the one at 3 s gives up.
    a = sender_server(tmp_path, extra_toml=route("gone.test", closed),
                      queue={"first_retry": '"1s"', "lifetime": '"3s"', "delay_warning": '"1s"'})
    a.start()
    try:
        submit(a, ["x@gone.test"], b"Subject: warn me\r\nMessage-ID: <warn-1@a.test>\r\n\r\nx\r\n",
               rcpt_options=["NOTIFY=DELAY,FAILURE"])
        submit(a, ["y@gone.test"], b"Subject: failures only\r\nMessage-ID: <fail-1@a.test>\r\n\r\ny\r\n",
               rcpt_options=["NOTIFY=FAILURE"])
        wait_until(lambda: "deferred" in a.queue("list").stdout, what="a deferral")
        wait_until(lambda: len(a.messages("alice")) >= 3 and queue_empty(a), timeout=60, what="the reports")
        reports = {}
        for raw in a.messages("alice"):
            msg, fields, groups = parse_dsn(raw)
            assert len(groups) == 1
            token = "warn" if b"warn-1@a.test" in raw else "fail" if b"fail-1@a.test" in raw else "?"
            reports.setdefault(token, {}).setdefault(groups[0]["Action"], []).append((msg, fields, groups[0]))
        assert sorted(reports) == ["fail", "warn"]
        assert {k: len(v) for k, v in reports["warn"].items()} == {"delayed": 1, "failed": 1}
        assert {k: len(v) for k, v in reports["fail"].items()} == {"failed": 1}  # NOTIFY=FAILURE: no warning

        for token, rcpt in (("warn", "x@gone.test"), ("fail", "y@gone.test")):
            _, fields, failed = reports[token]["failed"][0]
            assert final_recipient(failed) == "rfc822;" + rcpt
            assert failed["Status"] == "5.4.7"  # RFC 3463 §3.5: delivery time expired
            assert failed["Diagnostic-Code"].startswith("smtp; 554 5.4.7")
            assert f"127.0.0.1]:{closed}: refused" in failed["Diagnostic-Code"], failed["Diagnostic-Code"]
            # Given up only after the lifetime: the last attempt is at least 3 s after arrival
            # (both dates are whole seconds, cut down: the bound still holds). A lower bound.
            assert dsn_time(failed["Last-Attempt-Date"]) - dsn_time(fields["Arrival-Date"]) >= 3, \
                (fields["Arrival-Date"], failed["Last-Attempt-Date"])
        msg, _, delayed = reports["warn"]["delayed"][0]
        assert final_recipient(delayed) == "rfc822;x@gone.test"
        assert delayed["Status"] == "4.4.1"  # RFC 3463 §3.5: no answer from host
        assert f"127.0.0.1]:{closed}: refused" in delayed["Diagnostic-Code"]
        assert "delay" in msg["Subject"].lower() or "not yet" in msg.get_body(("plain",)).get_content().lower()
        # RFC 3464 §2.3.9: Will-Retry-Until is when attempts cease — and they did not cease earlier.
        _, _, failed = reports["warn"]["failed"][0]
        assert dsn_time(delayed["Will-Retry-Until"]) <= dsn_time(failed["Last-Attempt-Date"])
        assert a.log().count("status=expired") == 2
    finally:
        a.stop()


# ---------------------------------------------------------------------------- 4. Postfix

needs_postfix = pytest.mark.skipif(not postfix_instance.available(),
                                   reason="postfix not installed (Debian package postfix) or not root")


@pytest.fixture
def postfix():
    made = []

    def make(**kw):
        p = postfix_instance.Postfix(**kw)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


@needs_postfix
def test_we_relay_to_a_real_postfix(tmp_path, postfix):
    pf_port = free_port()
    a = sender_server(tmp_path, extra_toml=route("b.test", pf_port, tls="opportunistic"))
    pf = postfix(port=pf_port, domains=("b.test",), users=("bob",))
    a.start()
    try:
        # 8-bit text and a line starting with a dot: whichever of DATA (dot-stuffed) or BDAT
        # we use with Postfix (it offers 8BITMIME and CHUNKING), the body arrives intact.
        body = "Subject: to postfix\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" \
               "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus a.test\r\n.leading dot\r\n..two dots\r\n"
        submit(a, ["bob@b.test"], body.encode("utf-8"))
        wait_until(lambda: len(pf.messages("bob")) == 1, what="delivery into Postfix's Maildir:\n" + pf.log())
        stored = pf.messages("bob")[0]
        assert "Grüße aus a.test\n.leading dot\n..two dots\n".encode("utf-8") in stored  # Maildir: LF lines
        msg = email.message_from_bytes(stored, policy=email.policy.default)
        assert msg["Subject"] == "to postfix"
        assert msg["Return-Path"] == "<alice@a.test>"
        assert any("by mx.a.test" in r for r in msg.get_all("Received"))
        assert msg["Message-ID"].endswith("@mx.a.test>")  # added at submission (RFC 6409 §8.3)
        wait_until(lambda: queue_empty(a), what="an empty queue")
        assert "status=sent" in a.log()
        assert "status=sent (delivered to maildir)" in pf.log()
    finally:
        a.stop()


@needs_postfix
def test_a_real_postfix_relays_to_us_and_bounces_our_550(tmp_path, postfix):
    a = sender_server(tmp_path)
    a.start()
    try:
        pf_port = free_port()
        # Postfix's own smtp client (opportunistic TLS: our self-signed STARTTLS) to our port.
        pf = postfix(port=pf_port, domains=("b.test",), users=("bob",), relayhost=a.port, tls_client="may")
        with smtplib.SMTP("127.0.0.1", pf_port, local_hostname="client.test", timeout=30) as s:
            s.sendmail("bob@b.test", ["alice@a.test"], b"Subject: from postfix\r\n\r\nvia relayhost\r\n")
            s.sendmail("bob@b.test", ["nosuchuser@a.test"], b"Subject: to nobody\r\n\r\nwill bounce\r\n")
        wait_until(lambda: len(a.messages("alice")) == 1, what="delivery from Postfix:\n" + pf.log())
        msg = email.message_from_bytes(a.messages("alice")[0], policy=email.policy.default)
        assert msg["Subject"] == "from postfix"
        assert msg["Return-Path"] == "<bob@b.test>"
        received = msg.get_all("Received")
        assert "by mx.a.test" in received[0] and "mx.postfix.test" in received[0], received
        assert any("by mx.postfix.test (Postfix)" in r for r in received), received
        assert "ESMTPS" in received[0]  # Postfix took our STARTTLS (RFC 3207)
        # Our 550 at RCPT becomes Postfix's bounce to bob, in Postfix's own virtual Maildir.
        wait_until(lambda: len(pf.messages("bob")) == 1, what="Postfix's bounce:\n" + pf.log())
        bounce = pf.messages("bob")[0]
        assert b"nosuchuser@a.test" in bounce and b"550" in bounce
        report = email.message_from_bytes(bounce, policy=email.policy.default)
        assert report.get_content_type() == "multipart/report"
        assert "status=sent" in pf.log() and "relay=127.0.0.1" in pf.log()
        assert "status=bounced" in pf.log()
    finally:
        a.stop()
