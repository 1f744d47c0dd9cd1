# The embedded server's IMAP side (issue 14): its listeners (imap_ports), Server.imap()
# logged-in imaplib clients (plaintext on loopback and implicit TLS, RFC 8314), and mailbox
# inspection through the running server's indexed store (Server.folders/folder) after
# APPEND and STORE over imaplib.
import imaplib

import pytest

import cloudsdial

LOGINS = {"alice": "s3cret"}
MESSAGE = b"From: <app@example.org>\r\nSubject: appended\r\n\r\nhello over IMAP\r\n"


def test_imap_ports_and_login():
    with cloudsdial.Server(users=["alice"], logins=LOGINS) as srv:
        ports = srv.imap_ports
        assert set(ports) == {"imap", "imaps"} and srv.port not in ports.values()
        assert srv.imap_port == ports["imap"] and srv.imaps_port == ports["imaps"]
        client = srv.imap("alice")
        assert isinstance(client, imaplib.IMAP4) and client.state == "AUTH"
        assert client.select("INBOX")[0] == "OK"
        client.logout()
        tls = srv.imap("alice", tls=True)
        assert isinstance(tls, imaplib.IMAP4_SSL) and tls.noop()[0] == "OK"
        tls.logout()
        with pytest.raises(imaplib.IMAP4.error):
            srv.imap("alice", "wrong")
        with pytest.raises(cloudsdial.ConfigError, match="no password"):
            srv.imap("bob")
        anonymous = srv.imap()
        assert anonymous.state == "NONAUTH"
        anonymous.logout()


def test_append_then_inspect_flags():
    # RFC 9051 §6.3.12 APPEND with flags; the store shows them with the APPENDUID's uid.
    with cloudsdial.Server(users=["alice"], logins=LOGINS) as srv:
        client = srv.imap("alice")
        typ, data = client.append("Archive", "(\\Flagged $Todo)", None, MESSAGE)
        assert typ == "OK"
        code = data[0].decode().split("]")[0]  # "[APPENDUID <uidvalidity> <uid>"
        _, uidvalidity, uid = code.split()
        client.logout()
        archive = srv.folder("alice", "Archive")
        assert archive.special_use == "\\Archive"
        assert archive.uidvalidity == int(uidvalidity) and archive.uids == [int(uid)]
        m = archive.message(int(uid))
        assert m.flags == ["\\Flagged"] and m.keywords == ["$Todo"]
        assert m.data == MESSAGE and m.size == len(MESSAGE)
        assert m.email()["Subject"] == "appended" and m.internal_date > 0
        assert archive.uidnext == int(uid) + 1 and archive.highestmodseq == m.modseq
        names = [f.name for f in srv.folders("alice", bodies=False)]
        assert "INBOX" in names and "Archive" in names


def test_store_changes_flags_and_modseq():
    # RFC 7162 §3.1.3: a STORE that changes flags gives the message a higher MODSEQ.
    with cloudsdial.Server(users=["alice"], logins=LOGINS) as srv:
        with srv.smtp() as s:
            s.sendmail("joe@example.org", ["alice@example.test"], b"Subject: by smtp\r\n\r\nhi\r\n")
        srv.wait_for_messages(1, timeout=30)
        before = srv.folder("alice").message(1)
        assert before.flags == [] and before.email()["Subject"] == "by smtp"
        client = srv.imap("alice")
        client.select("INBOX")
        assert client.uid("STORE", "1", "+FLAGS", "(\\Seen \\Deleted)")[0] == "OK"
        client.logout()
        inbox = srv.folder("alice")
        after = inbox.message(1)
        assert after.flags == ["\\Seen", "\\Deleted"]
        assert after.modseq > before.modseq and inbox.highestmodseq == after.modseq
        # The Maildir view still works next to the store's.
        assert [m.email()["Subject"] for m in srv.mailbox("alice")] == ["by smtp"]


def test_inspection_errors():
    srv = cloudsdial.Server(users=["alice"], imap=False)
    with pytest.raises(cloudsdial.StateError, match="not running"):
        srv.folders("alice")
    with srv:
        assert srv.imap_ports == {}
        with pytest.raises(cloudsdial.StateError, match="no imap listener"):
            srv.imap()
        assert srv.folder("alice").uidnext == 1  # the store works without IMAP listeners
        with pytest.raises(cloudsdial.NotFoundError):
            srv.folders("nobody")
        with pytest.raises(cloudsdial.NotFoundError):
            srv.folder("alice", "Nope")
