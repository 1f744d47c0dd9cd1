# The relay end to end with real processes: two `cloudsdial serve` instances on loopback,
# a.test relaying to b.test by a static route. Mail submitted with AUTH to A arrives in B's
# Maildir (with the Date:/Message-ID: submission adds, RFC 6409 §8); a 550 from B becomes an
# RFC 3464 bounce in the sender's Maildir, parsed back with Python's email package; with B
# down the message is queued, survives kill -9 of A, and after restart and `queue flush` it
# arrives exactly once; the queue CLI lists, shows, holds, releases and deletes.
import email
import email.policy
import json
import smtplib
import time

import pytest

from conftest import Server, free_port, wait_until

PASSWORD = "correct horse battery staple"


def make_b(tmp_path, port=0):
    return Server(tmp_path / "b", domain="b.test", hostname="mx.b.test", users=[("bob", [])],
                  smtp_extra={"listen": f'["127.0.0.1:{port}"]'})


def make_a(tmp_path, b_port, extra=""):
    route = f"""
[[relay.routes]]
domain = "b.test"
host = "127.0.0.1"
port = {b_port}
tls = "opportunistic"
"""
    return Server(tmp_path / "a", domain="a.test", hostname="mx.a.test", users=[("alice", [])],
                  sections={"auth": {"plaintext_on_loopback": "true"},
                            "queue": {"first_retry": '"1h"', "connect_timeout": '"2s"'}},
                  smtp_extra={"submission_listen": '["127.0.0.1:0"]'},
                  extra_toml=route + extra)


def submit(a, to, body, sender="alice@a.test"):
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        s.login("alice", PASSWORD)
        return s.sendmail(sender, to, body)


@pytest.fixture
def pair(tmp_path):
    b = make_b(tmp_path).start()
    a = make_a(tmp_path, b.port)
    a.user("add", "alice", PASSWORD)
    a.start()
    yield a, b
    for srv in (a, b):
        if srv.proc is not None:
            srv.stop()


def test_submitted_mail_is_relayed_to_the_second_server_with_submission_headers(pair):
    a, b = pair
    submit(a, ["bob@b.test"], b"Subject: hello b\r\n\r\nrelayed body\r\n")
    wait_until(lambda: len(b.messages("bob")) == 1, what="delivery at b.test")
    msg = email.message_from_bytes(b.messages("bob")[0], policy=email.policy.default)
    assert msg["Subject"] == "hello b"
    assert msg["Date"] is not None  # RFC 6409 §8.2
    assert msg["Message-ID"] is not None and msg["Message-ID"].endswith("@mx.a.test>")  # §8.3
    received = msg.get_all("Received")
    assert any("by mx.a.test" in r for r in received) and any("by mx.b.test" in r for r in received)
    wait_until(lambda: "Mail queue is empty" in a.queue("list").stdout, what="empty queue")
    assert "status=sent" in a.log()


def test_sender_must_belong_to_the_authenticated_user(pair):
    a, _ = pair
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        submit(a, ["bob@b.test"], b"Subject: forged\r\n\r\nx\r\n", sender="someone@a.test")
    assert e.value.smtp_code == 553


def test_unauthenticated_client_cannot_relay(pair):
    a, _ = pair
    with a.smtp() as s:
        s.ehlo()
        assert s.mail("x@elsewhere.test")[0] == 250
        code, text = s.rcpt("bob@b.test")
        assert code == 554 and b"5.7.1" in text


def test_remote_550_bounces_with_a_valid_rfc3464_report(pair):
    a, _ = pair
    submit(a, ["nobody@b.test"], b"Subject: to nobody\r\nMessage-ID: <orig-1@a.test>\r\n\r\nlost\r\n")
    wait_until(lambda: len(a.messages("alice")) == 1, what="the bounce")
    raw = a.messages("alice")[0]
    assert raw.startswith(b"Return-Path: <>")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert len(parts) == 3
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    groups = parts[1].get_payload()  # per-message fields, then one group per recipient
    assert len(groups) == 2
    assert groups[0]["Reporting-MTA"] == "dns; mx.a.test"
    rcpt = groups[1]
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Final-Recipient"].replace(" ", "") == "rfc822;nobody@b.test"
    assert "550" in rcpt["Diagnostic-Code"]
    assert parts[2].get_content_type() in ("text/rfc822-headers", "message/rfc822")
    assert b"orig-1@a.test" in raw


def test_queued_while_remote_is_down_survives_kill9_and_arrives_once_after_flush(tmp_path):
    b_port = free_port()
    b = make_b(tmp_path, b_port)
    a = make_a(tmp_path, b_port)
    a.user("add", "alice", PASSWORD)
    a.start()
    try:
        submit(a, ["bob@b.test"], b"Subject: durable\r\n\r\nonce only\r\n")
        wait_until(lambda: "deferred 1" in a.queue("list").stdout, what="a deferral")
        listing = json.loads(a.queue("list", "--json").stdout)
        assert listing["ok"] and len(listing["messages"]) == 1
        entry = listing["messages"][0]
        assert entry["deferred"] == 1 and "connect to" in entry["last_reply"]
        shown = a.queue("show", entry["id"]).stdout
        assert "bob@b.test" in shown and "deferred" in shown
        a.kill9()
        # The stopped server's queue is read directly.
        assert entry["id"] in a.queue("list").stdout
        a.start()
        b.start()
        a.queue("flush")
        wait_until(lambda: len(b.messages("bob")) == 1, what="delivery after flush")
        wait_until(lambda: "Mail queue is empty" in a.queue("list").stdout, what="empty queue")
        time.sleep(0.5)
        assert len(b.find("once only", user="bob")) == 1
    finally:
        for srv in (a, b):
            if srv.proc is not None:
                srv.stop()


def test_queue_cli_hold_release_delete_and_unknown_ids(tmp_path):
    b_port = free_port()
    a = make_a(tmp_path, b_port)
    a.user("add", "alice", PASSWORD)
    a.start()
    try:
        submit(a, ["bob@b.test"], b"Subject: held\r\n\r\nx\r\n")
        wait_until(lambda: "deferred 1" in a.queue("list").stdout, what="a deferral")
        qid = json.loads(a.queue("list", "--json").stdout)["messages"][0]["id"]
        a.queue("hold", qid)
        assert json.loads(a.queue("show", qid, "--json").stdout)["message"]["held"] is True
        a.queue("release", qid)
        assert json.loads(a.queue("show", qid, "--json").stdout)["message"]["held"] is False
        bad = a.queue("show", "NOSUCHID0000", check=False)
        assert bad.returncode == 1 and "no message NOSUCHID0000" in bad.stderr
        bad = a.queue("frobnicate", check=False)
        assert bad.returncode == 2
        a.queue("delete", qid)
        assert "Mail queue is empty" in a.queue("list").stdout
    finally:
        a.stop()
