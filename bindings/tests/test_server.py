# The embedded real server (cloudsdial.Server) with Python's smtplib: ephemeral loopback
# port, temporary data dir, received messages with envelopes, Maildir inspection, waits.
import smtplib

import pytest

import cloudsdial


def test_smtplib_roundtrip():
    with cloudsdial.Server(users=["alice", ("bob", ["robert"])], domains=["example.test"]) as srv:
        assert srv.running and srv.host == "127.0.0.1" and srv.port > 0
        assert srv.users == ["alice", "bob"] and srv.domains == ["example.test"]
        with srv.smtp() as s:
            code, _ = s.ehlo()
            assert code == 250
            refused = s.sendmail("joe@client.test", [srv.address("alice"), "robert@example.test"],
                                 b"Subject: hi\r\n\r\nhello alice\r\n")
            assert refused == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                s.sendmail("joe@client.test", ["nobody@example.test"], b"Subject: x\r\n\r\nx\r\n")
        m = srv.wait_for_message(timeout=30)
        assert m.mail_from == "joe@client.test"
        assert m.recipients == ["alice@example.test", "robert@example.test"]
        assert m.email()["Subject"] == "hi" and m.reply.startswith("250")
        stored = srv.mailbox("alice")
        assert len(stored) == 1 and stored[0].email()["Subject"] == "hi"
        assert b"hello alice" in stored[0].data and stored[0].data.startswith(b"Return-Path: <joe@client.test>")
        assert len(srv.mailbox("bob")) == 1
        data_dir = srv.data_dir
        assert data_dir.is_dir()
    assert not data_dir.exists()


def test_wait_for_messages_and_match():
    with cloudsdial.Server() as srv:
        with srv.smtp() as s:
            for i in range(3):
                s.sendmail("a@client.test", ["demo@example.test"], f"Subject: n{i}\r\n\r\nx\r\n".encode())
        got = srv.wait_for_messages(3, timeout=30)
        assert [m.email()["Subject"] for m in got] == ["n0", "n1", "n2"]
        assert srv.wait_for_message(lambda m: b"n2" in m.content, timeout=30).queue_id == got[2].queue_id
        with pytest.raises(cloudsdial.SimTimeoutError):
            srv.wait_for_message(lambda m: False, timeout=0.2)


def test_config_text_and_kept_data_dir(tmp_path):
    config = """
[server]
hostname = "mail.corp.test"
data_dir = "/nonexistent/is/overridden"
[smtp]
listen = ["127.0.0.1:1"]
[domains]
local = ["corp.test"]
[[users]]
name = "carol"
"""
    srv = cloudsdial.Server(config, data_dir=tmp_path / "var")
    srv.start()
    try:
        assert srv.hostname == "mail.corp.test" and srv.users == ["carol"] and srv.port != 1
        with smtplib.SMTP(srv.host, srv.port, timeout=30) as s:
            assert b"mail.corp.test" in s.ehlo()[1]
            s.sendmail("x@y.test", ["carol@corp.test"], b"Subject: c\r\n\r\nc\r\n")
        srv.wait_for_message(timeout=30)
    finally:
        srv.stop()
    assert len(list((tmp_path / "var" / "mail" / "carol" / "Maildir" / "new").iterdir())) == 1
