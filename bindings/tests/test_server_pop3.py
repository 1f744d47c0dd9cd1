# The embedded server's POP3 side (issue 15): its listeners (pop3_ports), Server.pop3()
# logged-in poplib clients (plaintext on loopback and implicit TLS, RFC 8314), and QUIT's
# deletion (RFC 1939 §6) seen through the running server's store.
import poplib

import pytest

import cloudsdial

LOGINS = {"alice": "s3cret"}


def test_pop3_ports_login_and_quit_deletes():
    with cloudsdial.Server(users=["alice"], logins=LOGINS) as srv:
        ports = srv.pop3_ports
        assert set(ports) == {"pop3", "pop3s"} and srv.port not in ports.values()
        with srv.smtp() as s:
            s.sendmail("app@example.org", ["alice@example.test"], "Subject: one\r\n\r\nfirst\r\n")
            s.sendmail("app@example.org", ["alice@example.test"], "Subject: two\r\n\r\nsecond\r\n")
        client = srv.pop3("alice")
        assert client.stat()[0] == 2
        assert any(line == b"first" for line in client.retr(1)[1])
        client.dele(1)
        assert client.quit().startswith(b"+OK")
        assert len(srv.folder("alice", "INBOX").uids) == 1
        tls = srv.pop3("alice", tls=True)
        assert tls.stat()[0] == 1
        tls.quit()
        with pytest.raises(poplib.error_proto):
            srv.pop3("alice", "wrong")
        with pytest.raises(cloudsdial.ConfigError, match="no password"):
            srv.pop3("bob")


def test_pop3_can_be_left_out():
    with cloudsdial.Server(users=["alice"], pop3=False) as srv:
        assert srv.pop3_ports == {}
        with pytest.raises(cloudsdial.StateError):
            srv.pop3()
