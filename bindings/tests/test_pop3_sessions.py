# The sans-IO POP3 server session from Python (cloudsdial.pop3): a ServerSession fed by
# hand, the pure-Python Client and Maildrop driven against it in memory (pump), and the
# checks that keep the session's assertions out of reach (ids, failed logins, maildrops).
import pytest

import cloudsdial
from cloudsdial.pop3 import Client, Maildrop, ServerSession, drain, pump

MSG1 = b"Subject: one\r\n\r\nfirst\r\n.leading dot\r\n"
MSG2 = b"Subject: two\r\nX-A: b\r\n\r\nl1\r\nl2\r\nl3\r\n"


def logged_in(drop, user="alice", password="pw"):
    client, server = Client(), ServerSession(users={user: password})
    client.user(user)
    client.pass_(password)
    greeting, user_ok, pass_ok = pump(client, server, drop)
    assert greeting["command"] is None and greeting["ok"]
    assert user_ok["ok"] and pass_ok["ok"], pass_ok
    return client, server


def test_server_session_by_hand_rfc1939_states():
    s = ServerSession(users={"alice": "pw"})
    data, _, _ = drain(s)
    assert data == b"+OK Cloudsdial POP3 ready\r\n"  # RFC 1939 §4 greeting
    assert s.state == "authorization"
    # Pipelined (RFC 2449 §6.6): the session takes USER/PASS, then waits for the auth answer.
    buf = b"USER alice\r\nPASS pw\r\nSTAT\r\n"
    taken = s.feed(buf, now=1.0)
    assert taken == len(b"USER alice\r\nPASS pw\r\n")
    data, _, events = drain(s)
    assert data == b"+OK Send PASS\r\n"
    assert events == [{"kind": "auth", "id": events[0]["id"], "success": True, "user": "alice", "mechanism": "USER"}]
    s.complete_auth(events[0]["id"], True, [(7, len(MSG1), "u7"), (9, len(MSG2), "u9")], now=1.0)
    assert s.state == "transaction" and s.user == "alice"
    assert s.feed(buf[taken:], now=2.0) == len(b"STAT\r\n")
    data, _, _ = drain(s)
    assert data == b"+OK Logged in: 2 messages (%d octets)\r\n+OK 2 %d\r\n" % ((len(MSG1) + len(MSG2),) * 2)
    # RFC 1939 §7 RETR: bytes come from the application, dot-stuffed by the session.
    s.feed(b"RETR 1\r\n", now=2.0)
    (ev,) = drain(s)[2]
    assert ev["kind"] == "retrieve" and ev["uid"] == 7 and ev["top_lines"] is None
    assert s.send_message(ev["id"], MSG1[:10]) and s.send_message(ev["id"], MSG1[10:])
    s.complete_retrieve(ev["id"], now=2.0)
    data, _, _ = drain(s)
    assert data == b"+OK Message follows\r\nSubject: one\r\n\r\nfirst\r\n..leading dot\r\n.\r\n"
    # RFC 1939 §6: QUIT in TRANSACTION enters UPDATE and asks for the DELEd uids.
    s.feed(b"DELE 2\r\nQUIT\r\n", now=3.0)
    data, _, events = drain(s)
    assert data == b"+OK Message 2 deleted\r\n" and s.state == "update"
    assert [(e["kind"], e["deleted_uids"]) for e in events] == [("update", [9])]
    s.complete_update(events[0]["id"], True, now=3.0)
    data, other, _ = drain(s)
    assert data.startswith(b"+OK") and other == [("close",)] and s.closed


def test_completion_checks_raise_instead_of_asserting():
    s = ServerSession(users={"alice": "pw"})
    s.feed(b"USER alice\r\nPASS wrong\r\n")
    (ev,) = drain(s)[2]
    assert ev["success"] is False
    with pytest.raises(cloudsdial.StateError):  # a failed login can never be admitted
        s.complete_auth(ev["id"], True)
    with pytest.raises(cloudsdial.StateError):
        s.complete_retrieve(ev["id"])  # wrong kind for this id
    with pytest.raises(cloudsdial.StateError):
        s.complete_auth(ev["id"] + 100, False)
    s.complete_auth(ev["id"], False)
    assert b"-ERR [AUTH]" in drain(s)[0]  # RFC 3206 §4
    with pytest.raises(cloudsdial.StateError):
        s.complete_auth(ev["id"], False)  # answered already
    s.feed(b"USER alice\r\nPASS pw\r\n")
    (ev,) = drain(s)[2]
    with pytest.raises(cloudsdial.ConfigError):  # RFC 1939 §7: UIDL is 0x21-0x7E
        s.complete_auth(ev["id"], True, [(1, 3, "has space")])
    with pytest.raises(cloudsdial.ConfigError):  # unique
        s.complete_auth(ev["id"], True, [(1, 3, "a"), (2, 3, "a")])
    with pytest.raises(cloudsdial.ConfigError):
        s.feed(b"NOOP\r\n", now=-1.0)
    with pytest.raises(cloudsdial.ConfigError):
        s.complete_auth(ev["id"], True, [], now=-1.0)  # bad time: the event stays pending
    s.complete_auth(ev["id"], True, [(1, 3, "a")])  # still answerable after the refusals above
    assert s.state == "transaction"
    with pytest.raises(cloudsdial.StateError):
        s.send_message(12345, b"x")
    with pytest.raises(cloudsdial.ConfigError):
        ServerSession(users={"a/b": "pw"})  # SECURITY.md §5.13 user name rules


def test_client_downloads_and_deletes_rfc1939_section6():
    drop = Maildrop()
    drop.add("alice", MSG1)
    drop.add("alice", MSG2)
    client, server = logged_in(drop)
    assert drop.locked("alice")
    client.stat()
    client.list()
    client.uidl()
    client.retr(1)
    client.top(2, 1)
    client.dele(1)
    client.list(1)
    client.quit()
    stat, lst, uidl, retr, top, dele, list1, quit = pump(client, server, drop)
    assert stat["text"] == f"2 {len(MSG1) + len(MSG2)}"
    assert lst["lines"] == [b"1 %d" % len(MSG1), b"2 %d" % len(MSG2)]  # RFC 1939 §11: exact octets
    assert uidl["lines"] == [b"1 0000000100000001", b"2 0000000100000002"]
    assert retr["content"] == MSG1 and len(retr["content"]) == len(MSG1)
    assert top["content"] == b"Subject: two\r\nX-A: b\r\n\r\nl1\r\n"  # RFC 1939 §7 TOP 2 1
    assert dele["ok"] and not list1["ok"] and "deleted" in list1["text"]
    assert quit["ok"] and client.closed and server.closed
    assert list(drop.messages["alice"]) == [2] and not drop.locked("alice")


def test_second_session_gets_in_use_and_a_drop_deletes_nothing():
    drop = Maildrop()
    drop.add("alice", MSG1)
    first, first_server = logged_in(drop)
    second, second_server = Client(), ServerSession(users={"alice": "pw"})
    second.auth_plain("alice", "pw")  # RFC 5034 initial response
    _, auth = pump(second, second_server, drop)
    assert not auth["ok"] and auth["code"] == "IN-USE"  # RFC 2449 §8.1.2
    first.dele(1)
    assert pump(first, first_server, drop)[0]["ok"]
    first_server.feed_eof()  # dropped connection: no UPDATE (RFC 1939 §6)
    pump(first, first_server, drop)
    assert list(drop.messages["alice"]) == [1] and not drop.locked("alice")


def test_failed_update_keeps_everything():
    drop = Maildrop()
    drop.add("alice", MSG1)
    drop.fail_updates = True
    client, server = logged_in(drop)
    client.dele(1)
    client.quit()
    _, quit = pump(client, server, drop)
    assert not quit["ok"] and quit["code"] == "SYS/TEMP" and server.closed
    assert list(drop.messages["alice"]) == [1]


def test_capa_and_plaintext_policy_rfc2595_section4():
    drop = Maildrop()
    client, server = Client(), ServerSession(users={"alice": "pw"}, plaintext_without_tls=False,
                                             starttls_available=True)
    client.capa()
    client.user("alice")
    client.stls()
    _, capa, user, stls = pump(client, server, drop)
    assert b"STLS" in capa["lines"] and b"USER" not in capa["lines"]
    assert b"SASL SCRAM-SHA-256" in capa["lines"]
    assert not user["ok"] and user["code"] == "AUTH"
    assert stls["ok"]
    assert server.capabilities == [l.decode() for l in capa["lines"]]
    assert server.poll_output() is None  # pump stopped at ("starttls",)
    server.tls_established(now=1.0)
    assert server.tls_active and "USER" in server.capabilities and "STLS" not in server.capabilities
    client.user("alice")
    client.pass_("pw")
    client.capa()
    user, pass_, capa = pump(client, server, drop, now=1.0)
    assert user["ok"] and pass_["ok"] and b"STLS" not in capa["lines"]  # RFC 2595 §4


def test_idle_timeout_autologout_rfc1939_section3():
    s = ServerSession(users={"alice": "pw"}, login_timeout=30.0)
    drain(s)
    assert s.poll_timeout() == 30.0
    s.handle_timeout(29.0)
    assert not s.closed
    s.handle_timeout(30.0)
    data, other, _ = drain(s)
    assert data.startswith(b"-ERR") and other == [("close",)] and s.closed


def test_chunking_invariance_of_a_whole_dialog():
    # STYLE.md habit 2: the same transcript fed whole or one octet at a time gives the same
    # bytes and events (the session keeps partial lines across feed() calls).
    transcript = b"CAPA\r\nUSER alice\r\nPASS pw\r\nSTAT\r\nLIST\r\nUIDL 2\r\nTOP 2 2\r\nRETR 1\r\nDELE 1\r\nRSET\r\nQUIT\r\n"

    def run(pieces):
        drop = Maildrop(chunk_bytes=3)
        drop.add("alice", MSG1)
        drop.add("alice", MSG2)
        server, out, kinds, pending = ServerSession(users={"alice": "pw"}), b"", [], b""
        for piece in pieces:
            pending += piece
            while pending:
                taken = server.feed(pending)
                pending = pending[taken:]
                data, _, events = drain(server)
                out += data
                for ev in events:
                    kinds.append(ev["kind"])
                    drop.answer(server, ev)
                if taken == 0 and not events:
                    break
        while True:  # answers of the last events
            data, _, events = drain(server)
            out += data
            if not data and not events:
                break
            for ev in events:
                kinds.append(ev["kind"])
                drop.answer(server, ev)
        return out, kinds, sorted(drop.messages["alice"])

    whole = run([transcript])
    by_octet = run([transcript[i:i + 1] for i in range(len(transcript))])
    assert whole == by_octet
    out, kinds, left = whole
    assert kinds == ["auth", "retrieve", "retrieve", "update"] and left == [1, 2]  # RSET undid DELE
    assert out.count(b"\r\n.\r\n") == 4  # the multi-line CAPA, LIST, TOP and RETR
    assert b"..leading dot" in out  # RFC 1939 §3 byte-stuffing


def scram_login(client, server, drop, user, password, client_nonce="rOprNGfwEbeRWgbNEkqO"):
    # RFC 5802 §3 / RFC 7677 client side in Python, against the session's SASL server.
    import base64, hashlib, hmac
    b64 = lambda b: base64.b64encode(b).decode()
    first_bare = f"n={user},r={client_nonce}"
    client.command("AUTH SCRAM-SHA-256 " + b64(("n,," + first_bare).encode()))
    greeting_or_none = pump(client, server, drop)
    challenge = greeting_or_none[-1]
    assert challenge["ok"] is None
    server_first = base64.b64decode(challenge["text"]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(client_nonce) and int(attrs["i"]) >= 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    final_wo_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_wo_proof}".encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    client.respond(b64(f"{final_wo_proof},p={b64(proof)}".encode()))
    responses = pump(client, server, drop)
    if responses[-1]["ok"] is None:  # server-final (v=...), then an empty response
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        expected = "v=" + b64(hmac.new(server_key, auth_message, hashlib.sha256).digest())
        assert base64.b64decode(responses[-1]["text"]).decode() == expected
        client.respond("")
        responses = pump(client, server, drop)
    return responses[-1]


def test_auth_scram_sha_256_rfc5034_and_rfc7677():
    drop = Maildrop()
    drop.add("alice", MSG1)
    client, server = Client(), ServerSession(users={"alice": "pencil"}, plaintext_without_tls=False)
    done = scram_login(client, server, drop, "alice", "pencil")
    assert done["ok"] and server.state == "transaction" and server.user == "alice"
    bad_client, bad_server = Client(), ServerSession(users={"alice": "pencil"})
    bad = scram_login(bad_client, bad_server, Maildrop(), "alice", "wrong")
    assert not bad["ok"] and bad["code"] == "AUTH" and bad_server.state == "authorization"


def test_auth_login_with_continuations_and_cancel_rfc5034_section4():
    import base64
    drop = Maildrop()
    client, server = Client(), ServerSession(users={"bob": "pw"})
    client.command("AUTH LOGIN")
    _, ask_user = pump(client, server, drop)
    assert ask_user["ok"] is None
    client.respond("*")  # the client cancels: -ERR, still in AUTHORIZATION
    (cancelled,) = pump(client, server, drop)
    assert cancelled["ok"] is False and server.state == "authorization"
    client.command("AUTH LOGIN")
    pump(client, server, drop)
    client.respond(base64.b64encode(b"bob").decode())
    assert pump(client, server, drop)[0]["ok"] is None
    client.respond(base64.b64encode(b"pw").decode())
    (done,) = pump(client, server, drop)
    assert done["ok"] and server.user == "bob"
