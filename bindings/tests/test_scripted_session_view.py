# What the scripted IMAP and POP3 session handles share (cloudsdial._session_view.
# ScriptedSessionView): the greeting (RFC 9051 §7.1.1 "* OK", RFC 1939 §4 "+OK"), one reply
# per command of the protocol's own type, wait(), repr and the TypeError for a command of
# the wrong type.
import pytest

import cloudsdial
from cloudsdial import imap, pop3

LOGINS = {"alice": "wonderland"}


def world():
    w = cloudsdial.World(5)
    w.add_server("mx1", users=["alice"], tls=True, imap=True, pop3=True, logins=LOGINS)
    w.add_client("c1")
    return w


def test_imap_and_pop3_handles_share_the_view():
    w = world()
    i = w.imap_session("c1", "mx1", "alice", LOGINS["alice"], ["NOOP"])
    p = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["STAT"])
    assert i.wait(max_seconds=600) and p.wait(max_seconds=600)
    assert i.done and p.done and i.error == "" and p.error == ""
    assert i.greeting.startswith("* OK") and p.greeting.startswith("+OK")
    assert [type(r) for r in i.replies] == [imap.ImapReply]
    assert [type(r) for r in p.replies] == [pop3.Pop3Reply]
    assert isinstance(i.logout, imap.ImapReply) and isinstance(p.quit, pop3.Pop3Reply)
    assert repr(i) == f"<ImapSession {i.index} c1->mx1 user=alice done=True>"
    assert repr(p) == f"<Pop3Session {p.index} c1->mx1 user=alice done=True>"


def test_wrong_command_type_names_the_protocol():
    w = world()
    with pytest.raises(TypeError, match=r"^an IMAP command is a str, an imap.Append or an imap.Idle, not int$"):
        w.imap_session("c1", "mx1", "alice", LOGINS["alice"], [42])
    with pytest.raises(TypeError, match=r"^a POP3 command is a str or a pop3.Pause, not Idle$"):
        w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], [imap.Idle(1.0)])


def test_run_until_sessions_done_default_and_given():
    # None means every session of that protocol; a list means those sessions only.
    w = world()
    i = w.imap_session("c1", "mx1", "alice", LOGINS["alice"], ["NOOP"], start_delay=5.0)
    p = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["STAT"], start_delay=5.0)
    assert not i.done and not p.done
    assert w.run_until_imap_sessions_done([i], max_seconds=600)
    assert i.done
    assert w.run_until_pop3_sessions_done(max_seconds=600)
    assert p.done
