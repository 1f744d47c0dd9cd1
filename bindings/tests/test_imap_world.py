# Scripted IMAP sessions in a simulated World (World.imap_session, issue 14) and mailbox
# inspection through the server host's indexed store (World.folders/folder): replies per
# command, APPEND/STORE/IDLE seen through the store, the Maildir view still working, and
# determinism (same seed and calls, same trace hash).
import pytest

import cloudsdial
from cloudsdial import imap

LOGINS = {"alice": "wonderland"}
APPENDED = b"From: <app@clients.test>\r\nSubject: appended\r\n\r\nkept in Archive\r\n"


def imap_world(seed=3):
    w = cloudsdial.World(seed)
    w.add_server("mx1", users=["alice"], tls=True, imap=True, logins=LOGINS)
    w.add_client("c1")
    return w


def script(w):
    """SMTP delivers one message; an IMAP session reads it, flags it, appends to Archive."""
    assert w.send("c1", "mx1", to="alice@example.test", subject="delivered").wait(max_seconds=60)
    s = w.imap_session("c1", "mx1", "alice", LOGINS["alice"], [
        "SELECT INBOX (CONDSTORE)",
        "UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
        "UID STORE 1 +FLAGS (\\Answered $Replied)",
        imap.Append("Archive", APPENDED, ["\\Seen", "$Work"]),
        "SELECT Nonexistent",
        "NOOP",
    ])
    assert s.wait(max_seconds=600)
    return s


def test_session_replies_per_command():
    # RFC 9051 §7: untagged data, then the tagged completion, for each command in order.
    w = imap_world()
    s = script(w)
    assert s.done and s.error == "" and not s.connect_failed
    assert s.greeting.startswith("* OK")
    assert s.login.ok and s.login.command == 'LOGIN "alice" "***"'  # the password is never recorded
    r = s.replies
    assert [x.command for x in r][:3] == ["SELECT INBOX (CONDSTORE)",
                                          "UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                                          "UID STORE 1 +FLAGS (\\Answered $Replied)"]
    assert all(x.complete for x in r)
    assert [x.status for x in r] == ["OK", "OK", "OK", "OK", "NO", "OK"]  # a NO does not stop the script
    assert "* 1 EXISTS" in r[0].lines and r[0].code("UIDVALIDITY")  # RFC 9051 §7.1 response codes
    fetch = r[1].untagged[0]
    assert fetch.text.startswith("* 1 FETCH") and b"Subject: delivered" in fetch.literals[0]
    assert r[3].command.startswith("APPEND Archive (\\Seen $Work) {")
    uidvalidity, uid = r[3].code("APPENDUID").split()  # RFC 4315 §3
    assert uid == "1"
    assert s.logout.ok and "* BYE Logging out" in s.logout.lines[0]
    assert w.stats()["imap_sessions_finished"] == 1
    archive = w.folder("mx1", "alice", "Archive")
    assert archive.uidvalidity == int(uidvalidity)


def test_store_inspection_after_imap_changes():
    # RFC 7162 §3.1: STORE gives the message a new MODSEQ, HIGHESTMODSEQ follows.
    w = imap_world()
    before = w.folder("mx1", "alice")
    assert before.name == "INBOX" and len(before) == 0 and before.uidnext == 1
    script(w)
    folders = {f.name: f for f in w.folders("mx1", "alice")}
    assert {"INBOX", "Archive", "Drafts", "Sent", "Trash", "Junk"} <= set(folders)
    assert folders["Archive"].special_use == "\\Archive" and folders["INBOX"].special_use == ""
    inbox = folders["INBOX"]
    m = inbox.message(1)
    assert m.flags == ["\\Answered"] and m.keywords == ["$Replied"]
    assert m.modseq == inbox.highestmodseq and m.modseq > 1
    assert inbox.uidnext == 2 and inbox.uids == [1]
    assert m.email()["Subject"] == "delivered" and m.size == len(m.data)
    a = folders["Archive"].message(1)
    assert a.all_flags == ["\\Seen", "$Work"] and a.data == APPENDED
    # The Maildir view (INBOX's new/ and cur/ files) is still there next to the store's.
    assert [x.email()["Subject"] for x in w.mailbox("mx1", "alice")] == ["delivered"]
    bare = w.folder("mx1", "alice", "inbox", bodies=False)  # INBOX in any case
    assert bare.messages[0].data is None and bare.messages[0].uid == 1


def test_idle_sees_a_delivery():
    # RFC 2177 §3: while idling, the server pushes EXISTS for mail delivered meanwhile.
    w = imap_world(5)
    s = w.imap_session("c1", "mx1", "alice", LOGINS["alice"], ["SELECT INBOX", imap.Idle(30.0)])
    w.send("c1", "mx1", to="alice@example.test", start_delay=5.0)
    assert s.wait(max_seconds=600)
    idle = s.replies[1]
    assert idle.ok and idle.untagged[0].kind == "continuation"
    assert "* 1 EXISTS" in idle.lines


def test_wrong_password_and_no_imap():
    w = imap_world()
    s = w.imap_session("c1", "mx1", "alice", "nope", ["SELECT INBOX"])
    assert s.wait(max_seconds=120)
    assert s.login.complete and s.login.status == "NO" and s.replies == [] and "LOGIN refused" in s.error
    w.add_server("mx2", users=["bob"])
    with pytest.raises(cloudsdial.ConfigError, match="serves no IMAP"):
        w.imap_session("c1", "mx2", "bob", "x")
    with pytest.raises(cloudsdial.ConfigError, match="needs tls"):
        w.add_server("mx3", users=["carol"], imap=True, logins={"carol": "pw"})
    with pytest.raises(cloudsdial.ConfigError, match="CR, LF"):
        w.imap_session("c1", "mx1", "alice", "x", ["NOOP\r\nLOGOUT"])
    with pytest.raises(cloudsdial.ConfigError, match="Idle"):
        w.imap_session("c1", "mx1", "alice", "x", ["IDLE"])
    with pytest.raises(cloudsdial.NotFoundError):
        w.folder("mx1", "alice", "Nope")
    with pytest.raises(cloudsdial.NotFoundError):
        w.folders("mx1", "nobody")
    w.crash("mx1")
    with pytest.raises(cloudsdial.StateError, match="down"):
        w.folders("mx1", "alice")


def test_same_seed_same_trace_hash():
    # Scripted IMAP sessions and store inspections are part of the deterministic run.
    def run(seed):
        w = imap_world(seed)
        s = script(w)
        flags = [m.all_flags for f in w.folders("mx1", "alice") for m in f.messages]
        return w.trace_hash, [(r.status, r.text) for r in s.replies], flags

    first = run(11)
    assert run(11) == first
    assert run(12)[0] != first[0]
