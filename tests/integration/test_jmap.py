# JMAP (RFC 8620 Core, RFC 8621 Mail) against the real `cloudsdial serve` on loopback, with
# Python's http.client as the client: the Session resource, authentication (401, Basic from
# loopback, bearer tokens from /jmap/login), mail delivered by smtplib found with
# Email/query + Email/get (result references, RFC 8620 §3.7), IMAP and JMAP interleaved on
# one mailbox agreeing (flags, MOVE, EXPUNGE), Email/changes, EmailSubmission delivering to
# another local user with onSuccessUpdateEmail, blob upload / Email/import / download, and
# push over EventSource (RFC 8620 §7.3). Standard library only; no timing asserts.
import base64
import http.client
import json
import socket
import time

import pytest

from conftest import IMAP_USERS, new_jmap_server, wait_until

USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail", "urn:ietf:params:jmap:submission"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = new_jmap_server(tmp_path_factory.mktemp("jmap"))
    yield srv
    if srv.proc is not None:
        srv.stop()


def basic(user):
    return "Basic " + base64.b64encode(f"{user}:{IMAP_USERS[user]}".encode()).decode()


class Jmap:
    """A small JMAP client: the session, method calls, upload and download."""

    def __init__(self, srv, user):
        self.srv, self.user, self.auth = srv, user, basic(user)
        status, self.session = self.request("GET", "/.well-known/jmap")
        assert status == 200, self.session
        self.account = self.session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

    def request(self, method, path, body=None, headers=None, raw=False):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.http_ports["http"], timeout=30)
        h = {"Authorization": self.auth}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        if raw:
            return r.status, data, r
        return r.status, (json.loads(data) if data else None)

    def call(self, *calls):
        """Runs [name, args] calls (accountId filled in); returns the methodResponses."""
        method_calls = []
        for i, (name, args) in enumerate(calls):
            args = dict(args)
            args.setdefault("accountId", self.account)
            method_calls.append([name, args, f"c{i}"])
        status, body = self.request("POST", "/jmap/api", {"using": USING, "methodCalls": method_calls})
        assert status == 200, body
        return body["methodResponses"]

    def one(self, name, args):
        [[rname, rargs, _]] = self.call((name, args))
        assert rname == name, rargs
        return rargs

    def mailbox(self, role):
        for m in self.one("Mailbox/get", {"ids": None})["list"]:
            if m["role"] == role:
                return m
        raise AssertionError(f"no {role} mailbox")

    def find(self, subject):
        ids = self.one("Email/query", {"filter": {"subject": subject}})["ids"]
        return ids


def deliver(srv, to, subject, body="Hello from smtplib.\r\n", extra=""):
    msg = (f"From: Sender <sender@client.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@client.test>\r\n{extra}\r\n{body}")
    with srv.smtp() as s:
        s.sendmail("sender@client.test", [to], msg.encode())


def test_rfc8620_2_session_resource_needs_credentials(server):
    c = http.client.HTTPConnection("127.0.0.1", server.http_ports["http"], timeout=30)
    c.request("GET", "/.well-known/jmap")
    r = c.getresponse()
    r.read()
    assert r.status == 401
    assert r.getheader("WWW-Authenticate", "").startswith("Basic")
    j = Jmap(server, "alice")
    caps = j.session["capabilities"]
    assert "urn:ietf:params:jmap:core" in caps and "urn:ietf:params:jmap:mail" in caps
    assert caps["urn:ietf:params:jmap:core"]["maxCallsInRequest"] >= 1
    assert j.session["apiUrl"].endswith("/jmap/api")
    assert j.session["username"] == "alice"
    bad = Jmap.__new__(Jmap)
    bad.srv, bad.auth = server, "Basic " + base64.b64encode(b"alice:wrong").decode()
    status, _ = bad.request("GET", "/.well-known/jmap")
    assert status == 401


def test_rfc8620_3_6_1_request_level_errors_are_problem_details(server):
    j = Jmap(server, "alice")
    status, data, r = j.request("POST", "/jmap/api", "{not json", raw=True)
    assert status == 400 and r.getheader("Content-Type") == "application/problem+json"
    assert json.loads(data)["type"] == "urn:ietf:params:jmap:error:notJSON"
    status, body = j.request("POST", "/jmap/api", {"using": ["urn:example:nope"], "methodCalls": []})
    assert status == 400 and body["type"] == "urn:ietf:params:jmap:error:unknownCapability"
    status, body = j.request("POST", "/jmap/api", {"methodCalls": []})
    assert status == 400 and body["type"] == "urn:ietf:params:jmap:error:notRequest"
    # A method error is a response, not a request failure (RFC 8620 §3.6.2).
    [[name, args, _]] = j.call(("Nope/get", {}))
    assert name == "error" and args["type"] == "unknownMethod"
    [[name, args, _]] = j.call(("Mailbox/get", {"accountId": "Anope"}))
    assert name == "error" and args["type"] == "accountNotFound"


def test_rfc8621_4_mail_delivered_by_smtp_found_with_query_and_result_reference(server):
    deliver(server, "bob@example.test", "jmap first", "First body line.\r\n")
    j = Jmap(server, "bob")
    inbox = j.mailbox("inbox")
    assert inbox["totalEmails"] >= 1 and inbox["unreadEmails"] >= 1
    responses = j.call(
        ("Email/query", {"filter": {"inMailbox": inbox["id"]}, "sort": [{"property": "receivedAt", "isAscending": False}],
                         "calculateTotal": True}),
        ("Email/get", {"#ids": {"resultOf": "c0", "name": "Email/query", "path": "/ids"},
                       "properties": ["subject", "from", "to", "mailboxIds", "keywords", "bodyValues", "textBody",
                                      "preview", "receivedAt", "size", "blobId", "threadId"],
                       "fetchTextBodyValues": True}))
    assert responses[0][0] == "Email/query" and responses[0][1]["total"] >= 1
    assert responses[1][0] == "Email/get", responses[1]
    emails = [e for e in responses[1][1]["list"] if e["subject"] == "jmap first"]
    assert len(emails) == 1
    e = emails[0]
    assert e["from"] == [{"name": "Sender", "email": "sender@client.test"}]
    assert e["mailboxIds"] == {inbox["id"]: True}
    assert e["keywords"] == {}
    part = e["textBody"][0]["partId"]
    assert e["bodyValues"][part]["value"].startswith("First body line.")
    assert "First body line." in e["preview"]
    assert e["receivedAt"].endswith("Z") and e["size"] > 0
    # RFC 8620 §6.2: the message blob is the stored message.
    path = j.session["downloadUrl"].split("//", 1)[-1]
    path = "/" + path.split("/", 1)[1]
    path = path.replace("{accountId}", j.account).replace("{blobId}", e["blobId"]).replace("{name}", "m.eml") \
               .replace("{type}", "message/rfc822")
    status, data, r = j.request("GET", path, raw=True)
    assert status == 200 and b"Subject: jmap first" in data
    assert r.getheader("Content-Disposition").startswith("attachment")
    # Thread/get: the Email's thread lists it.
    t = j.one("Thread/get", {"ids": [e["threadId"]]})
    assert t["list"][0]["emailIds"] == [e["id"]]


def test_imap_and_jmap_interleaved_on_one_mailbox_agree(server):
    deliver(server, "carol@example.test", "interleaved one")
    j = Jmap(server, "carol")
    [eid] = j.find("interleaved one")
    # JMAP sets $seen: IMAP sees \Seen.
    res = j.one("Email/set", {"update": {eid: {"keywords/$seen": True}}})
    assert eid in res["updated"], res
    m = server.imap("carol")
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"interleaved one"')
    [uid] = data[0].split()
    typ, data = m.uid("FETCH", uid, "(FLAGS)")
    assert b"\\Seen" in data[0]
    # IMAP sets \Flagged: JMAP sees $flagged, and the Email state moved on.
    state = j.one("Email/get", {"ids": [eid], "properties": ["keywords"]})["state"]
    m.uid("STORE", uid, "+FLAGS", "(\\Flagged)")
    got = j.one("Email/get", {"ids": [eid], "properties": ["keywords"]})
    assert got["list"][0]["keywords"] == {"$seen": True, "$flagged": True}
    assert got["state"] != state
    changes = j.one("Email/changes", {"sinceState": state})
    assert eid in changes["updated"] and changes["newState"] == got["state"]
    # IMAP MOVE to Archive: the same Email id, now in Archive (content id kept).
    archive = j.mailbox("archive")
    m.uid("MOVE", uid, "Archive")
    got = j.one("Email/get", {"ids": [eid], "properties": ["mailboxIds"]})
    assert got["list"][0]["mailboxIds"] == {archive["id"]: True}
    # JMAP moves it back to the inbox; IMAP finds it there.
    inbox = j.mailbox("inbox")
    res = j.one("Email/set", {"update": {eid: {"mailboxIds": {inbox["id"]: True}}}})
    assert eid in res["updated"], res
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"interleaved one"')
    assert len(data[0].split()) == 1
    # JMAP destroys it; IMAP no longer finds it, and Email/changes reports it destroyed.
    state = j.one("Email/get", {"ids": [], "properties": ["id"]})["state"]
    res = j.one("Email/set", {"destroy": [eid]})
    assert res["destroyed"] == [eid], res
    m.noop()
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"interleaved one"')
    assert data[0].split() == []
    # The expunge's tombstone keeps the content id (index schema v4), so the destroyed
    # Email is named (RFC 8620 §5.2), not cannotCalculateChanges.
    changes = j.call(("Email/changes", {"sinceState": state}))[0]
    assert changes[0] == "Email/changes", changes
    assert eid in changes[1]["destroyed"], changes
    assert eid not in changes[1]["updated"] and eid not in changes[1]["created"], changes
    m.logout()


def test_rfc8621_7_email_submission_delivers_and_moves_the_draft_to_sent(server):
    a = Jmap(server, "alice")
    drafts, sent = a.mailbox("drafts"), a.mailbox("sent")
    identity = a.one("Identity/get", {"ids": None})["list"][0]
    assert identity["email"] == "alice@example.test"
    responses = a.call(
        ("Email/set", {"create": {"d1": {
            "mailboxIds": {drafts["id"]: True}, "keywords": {"$draft": True, "$seen": True},
            "from": [{"name": "Alice", "email": "alice@example.test"}],
            "to": [{"name": "Dave", "email": "dave@example.test"}],
            "subject": "sent over jmap",
            "bodyValues": {"t": {"value": "Hello Dave, from JMAP.\n"}},
            "textBody": [{"partId": "t", "type": "text/plain"}]}}}),
        ("EmailSubmission/set", {"create": {"s1": {"identityId": identity["id"], "emailId": "#d1"}},
                                 "onSuccessUpdateEmail": {"#s1": {
                                     f"mailboxIds/{drafts['id']}": None, f"mailboxIds/{sent['id']}": True,
                                     "keywords/$draft": None}}}))
    assert responses[0][0] == "Email/set" and "d1" in responses[0][1]["created"], responses[0]
    assert responses[1][0] == "EmailSubmission/set" and "s1" in responses[1][1]["created"], responses[1]
    assert responses[2][0] == "Email/set", responses  # the implicit one (RFC 8621 §7.5)
    eid = responses[0][1]["created"]["d1"]["id"]
    assert eid in responses[2][1]["updated"]
    got = a.one("Email/get", {"ids": [eid], "properties": ["mailboxIds", "keywords"]})["list"][0]
    assert got["mailboxIds"] == {sent["id"]: True} and got["keywords"] == {"$seen": True}
    d = Jmap(server, "dave")
    wait_until(lambda: d.find("sent over jmap"), what="the submitted message in dave's inbox")
    [did] = d.find("sent over jmap")
    e = d.one("Email/get", {"ids": [did], "properties": ["from", "bodyValues", "textBody"],
                            "fetchTextBodyValues": True})["list"][0]
    assert e["from"][0]["email"] == "alice@example.test"
    assert "Hello Dave, from JMAP." in e["bodyValues"][e["textBody"][0]["partId"]]["value"]
    subs = a.one("EmailSubmission/get", {"ids": None})["list"]
    assert any(s["emailId"] == eid and s["undoStatus"] == "final" for s in subs)


def test_rfc8621_7_5_submission_from_another_address_is_refused(server):
    a = Jmap(server, "alice")
    drafts = a.mailbox("drafts")
    identity = a.one("Identity/get", {"ids": None})["list"][0]
    r = a.call(
        ("Email/set", {"create": {"d": {"mailboxIds": {drafts["id"]: True}, "subject": "x",
                                        "from": [{"email": "alice@example.test"}], "to": [{"email": "dave@example.test"}],
                                        "bodyValues": {"t": {"value": "x"}}, "textBody": [{"partId": "t"}]}}}),
        ("EmailSubmission/set", {"create": {"s": {"identityId": identity["id"], "emailId": "#d",
                                                  "envelope": {"mailFrom": {"email": "mallory@example.test"},
                                                               "rcptTo": [{"email": "dave@example.test"}]}}}}))
    assert r[1][1]["notCreated"]["s"]["type"] == "forbiddenMailFrom"


def test_rfc8620_6_upload_then_email_import_then_parse(server):
    j = Jmap(server, "bob")
    raw = (b"From: importer@client.test\r\nTo: bob@example.test\r\nSubject: imported one\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nImported body \xc3\xa9.\r\n")
    status, up = j.request("POST", f"/jmap/upload/{j.account}/", raw, {"Content-Type": "message/rfc822"})
    assert status == 201 and up["size"] == len(raw) and up["type"] == "message/rfc822"
    parsed = j.one("Email/parse", {"blobIds": [up["blobId"]], "properties": ["subject", "from"]})
    assert parsed["parsed"][up["blobId"]]["subject"] == "imported one"
    archive = j.mailbox("archive")
    res = j.one("Email/import", {"emails": {"i1": {"blobId": up["blobId"], "mailboxIds": {archive["id"]: True},
                                                   "keywords": {"$seen": True},
                                                   "receivedAt": "2024-03-01T10:00:00Z"}}})
    assert "i1" in res["created"], res
    eid = res["created"]["i1"]["id"]
    got = j.one("Email/get", {"ids": [eid], "properties": ["subject", "receivedAt", "keywords", "mailboxIds"]})
    e = got["list"][0]
    assert e["subject"] == "imported one" and e["receivedAt"] == "2024-03-01T10:00:00Z"
    assert e["keywords"] == {"$seen": True} and e["mailboxIds"] == {archive["id"]: True}
    res = j.one("Email/import", {"emails": {"i2": {"blobId": "U0000", "mailboxIds": {archive["id"]: True}}}})
    assert res["notCreated"]["i2"]["type"] == "blobNotFound"


def test_login_token_is_a_bearer_credential_and_a_forged_one_is_refused(server):
    c = http.client.HTTPConnection("127.0.0.1", server.http_ports["http"], timeout=30)
    c.request("POST", "/jmap/login", body=json.dumps({"username": "alice", "password": IMAP_USERS["alice"]}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 200 and body["tokenType"] == "Bearer"
    token = body["accessToken"]
    c.request("GET", "/.well-known/jmap", headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["username"] == "alice"
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    c.request("GET", "/.well-known/jmap", headers={"Authorization": "Bearer " + forged})
    r = c.getresponse()
    r.read()
    assert r.status == 401
    c.request("POST", "/jmap/login", body=json.dumps({"username": "alice", "password": "nope"}))
    r = c.getresponse()
    r.read()
    assert r.status == 401


def test_rfc8620_7_3_event_source_pushes_a_state_change_on_delivery(server):
    j = Jmap(server, "dave")
    s = socket.create_connection(("127.0.0.1", server.http_ports["http"]), timeout=30)
    s.sendall(("GET /jmap/eventsource?types=*&closeafter=no&ping=0 HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: {basic('dave')}\r\nAccept: text/event-stream\r\n\r\n").encode())
    buf = b""

    def read_until(token):
        nonlocal buf
        deadline = time.monotonic() + 30
        while token not in buf:
            assert time.monotonic() < deadline, buf
            chunk = s.recv(65536)
            assert chunk, buf
            buf += chunk

    read_until(b"\r\n\r\n")
    head = buf.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head
    read_until(b"\n\n")  # the baseline state event
    first = buf
    assert b"event: state" in first and b"StateChange" in first
    before = j.one("Email/get", {"ids": [], "properties": ["id"]})["state"]
    deliver(server, "dave@example.test", "push me")
    read_until(before.encode() if False else b"event: state", )
    buf = buf[len(first):]
    read_until(b"\n\n")
    event = [line for line in buf.split(b"\n") if line.startswith(b"data: ")][0]
    change = json.loads(event[6:])
    assert change["@type"] == "StateChange"
    assert change["changed"][j.account]["Email"] != before
    s.close()


def test_rfc8621_3_replies_join_their_roots_thread_and_collapse_threads(server):
    deliver(server, "carol@example.test", "thread root", extra="")
    deliver(server, "carol@example.test", "Re: thread root",
            extra="In-Reply-To: <thread.root@client.test>\r\nReferences: <thread.root@client.test>\r\n")
    deliver(server, "carol@example.test", "unrelated one")
    j = Jmap(server, "carol")
    ids = j.one("Email/query", {"filter": {"subject": "thread root"}})["ids"]
    assert len(ids) == 2
    got = j.one("Email/get", {"ids": ids, "properties": ["threadId", "subject", "receivedAt"]})["list"]
    assert got[0]["threadId"] == got[1]["threadId"]
    [other] = j.find("unrelated one")
    other_thread = j.one("Email/get", {"ids": [other], "properties": ["threadId"]})["list"][0]["threadId"]
    assert other_thread != got[0]["threadId"]
    thread = j.one("Thread/get", {"ids": [got[0]["threadId"]]})["list"][0]
    by_subject = {e["subject"]: e["id"] for e in got}
    assert thread["emailIds"] == [by_subject["thread root"], by_subject["Re: thread root"]]  # oldest first
    inbox = j.mailbox("inbox")
    assert inbox["totalThreads"] == inbox["totalEmails"] - 1  # RFC 8621 §2: the pair is one thread
    all_ids = j.one("Email/query", {"filter": {"inMailbox": inbox["id"]}})["ids"]
    collapsed = j.one("Email/query", {"filter": {"inMailbox": inbox["id"]}, "collapseThreads": True})["ids"]
    assert len(collapsed) == len(all_ids) - 1
    assert (by_subject["thread root"] in collapsed) != (by_subject["Re: thread root"] in collapsed)


def test_rfc8620_8_2_passwords_over_plain_http_only_from_loopback_while_allowed(tmp_path):
    """[http] plaintext_on_loopback (default true, whatever [auth] says): Basic and the login
    over plain HTTP from 127.0.0.1; set false, they are refused with 403 (HTTPS only)."""
    from conftest import Server
    for allowed in (None, "false"):
        http = {"listen": '["127.0.0.1:0"]'}
        if allowed is not None:
            http["plaintext_on_loopback"] = allowed
        srv = Server(tmp_path / f"p{allowed}", users=[], sections={"http": http})
        srv.user("add", "alice", IMAP_USERS["alice"])
        srv.start()
        try:
            j = Jmap.__new__(Jmap)
            j.srv, j.auth = srv, basic("alice")
            status, _ = j.request("GET", "/.well-known/jmap")
            assert status == (200 if allowed is None else 403)
        finally:
            srv.stop()
