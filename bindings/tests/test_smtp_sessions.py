# The sans-IO SMTP sessions from Python: a ServerSession fed by hand, a ClientSession
# driven against it in memory (cloudsdial.smtp.pump), completions and their checks.
import pytest

import cloudsdial
from cloudsdial.smtp import ClientSession, ServerSession, drain, pump


def test_server_session_by_hand():
    s = ServerSession(hostname="mx.example.test")
    data, _, events = drain(s)
    assert data.startswith(b"220 mx.example.test")
    assert s.feed(b"EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n", now=1.0) > 0
    data, _, events = drain(s)
    assert b"250-PIPELINING" in data or b"PIPELINING" in data
    kinds = [e["kind"] for e in events]
    assert kinds == ["helo", "mail_from"]
    mail = events[1]
    assert mail["path"] == "<a@b.test>"
    s.complete(mail["id"], 250, "Ok", "2.1.0", now=1.0)
    with pytest.raises(cloudsdial.StateError):
        s.complete(mail["id"], 250)
    assert b"250 2.1.0 Ok" in drain(s)[0]
    with pytest.raises(cloudsdial.ConfigError):
        s.feed(b"NOOP\r\n", now=0.5)  # time must not go backwards
    s.feed(b"RCPT TO:<c@d.test>\r\nDATA\r\n", now=2.0)
    _, _, events = drain(s)
    s.complete(events[0]["id"], 250, "Ok", now=2.0)
    with pytest.raises(cloudsdial.ConfigError):
        s.complete(events[0]["id"], 700)
    s.feed(b"Subject: x\r\n\r\n..dot\r\n.\r\n", now=2.0)
    data, _, events = drain(s)
    assert b"354" in data
    msg = [e for e in events if e["kind"] == "message"][0]
    assert msg["content"] == b"Subject: x\r\n\r\n.dot\r\n" and msg["recipients"] == ["<c@d.test>"]
    s.complete(msg["id"], 250, "queued", now=2.0)
    s.feed(b"QUIT\r\n", now=3.0)
    data, other, events = drain(s)
    assert b"221" in data and ("close",) in other and s.closed
    assert "ready -> mail" in " | ".join(s.history)


def test_client_against_server_in_memory():
    client = ClientSession(helo_name="client.test")
    server = ServerSession()
    ok = client.submit("a@b.test", ["alice@example.test", "nobody@example.test"], b"Subject: t\r\n\r\nhi\r\n")
    client.quit()

    def answer(ev):
        if ev["kind"] == "rcpt_to" and "nobody" in ev["path"]:
            return 550, "No such user"
        return 250, "Ok"

    events = pump(client, server, answer)
    results = [e for e in events if e["kind"] == "transaction_result"]
    assert len(results) == 1 and results[0]["id"] == ok and results[0]["accepted"]
    assert [r["accepted"] for r in results[0]["recipients"]] == [True, False]
    assert results[0]["recipients"][1]["reply"]["code"] == 550
    assert client.closed and server.closed


def test_client_argument_checks():
    with pytest.raises(cloudsdial.ConfigError):
        ClientSession(helo_name="bad name")
    c = ClientSession()
    with pytest.raises(cloudsdial.ConfigError):
        c.submit("a@b.test", [], b"x")
    with pytest.raises(cloudsdial.ConfigError):
        c.submit("not-an-address", ["x@y.test"], b"x")
