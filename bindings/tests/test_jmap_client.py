# cloudsdial.jmap.JmapClient against the real `cloudsdial serve` binary on loopback (an
# ephemeral HTTP port read from its "http: listening on" line, a temporary data dir, stopped
# with SIGTERM): the session, calls with the accountId filled in, query/get, send through
# EmailSubmission with the draft moved to Sent, upload/download, bearer tokens, EventSource
# push, and the errors (HTTP problem details, method errors). RFC 8620 / RFC 8621 sections
# are cited per test.
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from cloudsdial import JmapClient
from cloudsdial.jmap import JmapError, JmapMethodError

USERS = {"alice": "alice-secret", "bob": "bob-secret"}


def binary():
    app = os.environ.get("CLOUDSDIAL_BIN")
    if app and Path(app).exists():
        return app
    pytest.skip("no cloudsdial binary: set CLOUDSDIAL_BIN")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("jmapclient")
    config = root / "cloudsdial.toml"
    config.write_text("\n".join([
        "[server]", 'hostname = "mx.example.test"', f'data_dir = "{root / "var"}"', 'log_level = "info"',
        'shutdown_timeout = "5s"', "", "[smtp]", 'listen = ["127.0.0.1:0"]', "",
        "[http]", 'listen = ["127.0.0.1:0"]', "", "[tls]", "enabled = true", "",
        "[auth]", "plaintext_on_loopback = true", 'failure_delay = "0s"', "",
        "[domains]", 'local = ["example.test"]', ""]), encoding="utf-8")
    for name, password in USERS.items():
        r = subprocess.run([binary(), "user", "add", name, "--config", str(config)], input=password + "\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary(), "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=root)
    deadline = time.monotonic() + 60
    port = None
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        m = re.search(r"http: listening on 127\.0\.0\.1:(\d+) \(http\)", text)
        if m and "ready" in text:
            port = int(m.group(1))
            break
        assert proc.poll() is None, text
        time.sleep(0.05)
    assert port is not None, log_path.read_text(errors="replace")
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log_path.read_text(errors="replace")[-3000:]


def client(url, user="alice"):
    return JmapClient(url, user, USERS[user])


def test_rfc8620_2_session_and_account(server):
    j = client(server)
    assert j.session["username"] == "alice"
    assert "urn:ietf:params:jmap:core" in j.session["capabilities"]
    assert j.account_id == j.session["primaryAccounts"]["urn:ietf:params:jmap:mail"]
    with pytest.raises(JmapError) as e:
        JmapClient(server, "alice", "wrong").session
    assert e.value.status == 401


def test_rfc8620_3_call_fills_account_and_call_ids(server):
    j = client(server)
    [[name, args, cid]] = j.call(["Mailbox/get", {"ids": None}])
    assert (name, cid) == ("Mailbox/get", "c0")
    assert args["accountId"] == j.account_id
    roles = {m["role"] for m in args["list"]}
    assert {"inbox", "drafts", "sent", "trash"} <= roles
    with pytest.raises(JmapMethodError) as e:
        j.one("Mailbox/get", {"accountId": "Anope"})
    assert e.value.type == "accountNotFound"


def test_rfc8620_3_6_1_request_errors_raise_with_problem_details(server):
    j = client(server)
    with pytest.raises(JmapError) as e:
        j.call(["Mailbox/get", {}], using=["urn:example:nope"])
    assert e.value.status == 400 and e.value.type == "urn:ietf:params:jmap:error:unknownCapability"


def test_rfc8621_7_5_send_moves_the_draft_to_sent_and_delivers(server):
    a, b = client(server, "alice"), client(server, "bob")
    out = a.send("alice@example.test", "bob@example.test", "client send one", "Hello Bob, from JmapClient.\n")
    [got] = a.get_emails([out["emailId"]], ["mailboxIds", "keywords"])
    assert got["mailboxIds"] == {a.mailbox("sent")["id"]: True}
    assert "$draft" not in got["keywords"]
    deadline = time.monotonic() + 30
    ids = []
    while not ids and time.monotonic() < deadline:
        ids = b.query_emails({"subject": "client send one"})
        time.sleep(0.05)
    assert len(ids) == 1
    [e] = b.get_emails(ids, ["from", "textBody", "bodyValues"], fetch_bodies=True)
    assert e["from"][0]["email"] == "alice@example.test"
    assert e["bodyValues"][e["textBody"][0]["partId"]]["value"].startswith("Hello Bob, from JmapClient.")


def test_rfc8621_4_4_query_emails_sort_and_limit(server):
    j = client(server, "bob")
    inbox = j.mailbox("inbox")["id"]
    body = {"bodyValues": {"t": {"value": "x"}}, "textBody": [{"partId": "t", "type": "text/plain"}],
            "from": [{"email": "x@example.test"}]}
    created = j.one("Email/set", {"create": {
        "a": dict(body, mailboxIds={inbox: True}, subject="qsort early", receivedAt="2020-01-01T00:00:00Z"),
        "b": dict(body, mailboxIds={inbox: True}, subject="qsort late", receivedAt="2022-01-01T00:00:00Z")}})["created"]
    early, late = created["a"]["id"], created["b"]["id"]
    newest = [{"property": "receivedAt", "isAscending": False}]
    assert j.query_emails({"subject": "qsort"}, newest) == [late, early]
    assert j.query_emails({"subject": "qsort"}, [{"property": "receivedAt", "isAscending": True}]) == [early, late]
    assert j.query_emails({"subject": "qsort"}, newest, limit=1) == [late]


def test_rfc8620_6_upload_download_round_trip(server):
    j = client(server)
    data = bytes(range(256)) * 4
    up = j.upload(data, "application/octet-stream")
    assert up["size"] == len(data) and up["accountId"] == j.account_id
    assert j.download(up["blobId"], "bytes.bin") == data
    with pytest.raises(JmapError) as e:
        j.download("U0000")
    assert e.value.status == 404


def test_bearer_token_from_login(server):
    req = urllib.request.Request(server + "/jmap/login", method="POST",
                                 data=json.dumps({"username": "bob", "password": USERS["bob"]}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        token = json.loads(r.read())["accessToken"]
    j = JmapClient(server, token=token)
    assert j.session["username"] == "bob"
    with pytest.raises(ValueError):
        JmapClient(server, "bob")


def test_rfc8620_7_3_events_yield_state_changes(server):
    a, b = client(server, "alice"), client(server, "bob")
    events = b.events(types="*", closeafter="no", ping=0)
    first = next(events)
    assert first["event"] == "state" and first["data"]["@type"] == "StateChange"
    before = first["data"]["changed"][b.account_id].get("Email")
    a.send("alice@example.test", "bob@example.test", "client push", "push\n")
    for ev in events:
        if ev["event"] == "state" and ev["data"]["changed"][b.account_id].get("Email") != before:
            break
    events.close()
