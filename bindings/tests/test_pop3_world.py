# Scripted POP3 sessions in a simulated World (World.pop3_session, issue 15): the status
# line and un-stuffed multi-line body per command (RFC 1939 §3), QUIT after DELE removing
# the message (RFC 1939 §6, seen through the server's store), a server crash before QUIT
# removing nothing, a hang-up without QUIT removing nothing, and determinism (same seed
# and calls, same trace hash).
import pytest

import cloudsdial
from cloudsdial import pop3

LOGINS = {"alice": "wonderland"}
# A body line starting with "." is byte-stuffed on the wire (RFC 1939 §3) and must come back as sent.
DOTTED = "first line\n.leading dot\n..two dots\n"


def pop3_world(seed=3):
    w = cloudsdial.World(seed)
    w.add_server("mx1", users=["alice"], tls=True, pop3=True, logins=LOGINS)
    w.add_client("c1")
    return w


def deliver(w, *subjects):
    for subject in subjects:
        body = DOTTED if subject == "dotted" else "hello\n"
        assert w.send("c1", "mx1", to="alice@example.test", subject=subject, body=body).wait(max_seconds=60)


def inbox_subjects(w):
    return sorted(m.email()["Subject"] for m in w.folder("mx1", "alice").messages)


def test_replies_per_command_rfc1939():
    w = pop3_world()
    deliver(w, "dotted", "second")
    s = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"],
                       ["STAT", "LIST", "UIDL", "RETR 1", "TOP 2 0", "LIST 2", "RETR 9", "CAPA", "NOOP"])
    assert s.wait(max_seconds=600)
    assert s.done and s.error == "" and not s.connect_failed
    assert s.greeting.startswith("+OK")
    assert s.user.ok and s.login.ok and s.login.command == "PASS ***"  # the password is never recorded
    r = s.replies
    assert [x.command for x in r] == ["STAT", "LIST", "UIDL", "RETR 1", "TOP 2 0", "LIST 2", "RETR 9", "CAPA", "NOOP"]
    assert all(x.complete for x in r)
    assert [x.status for x in r] == ["+OK"] * 6 + ["-ERR"] + ["+OK"] * 2  # an -ERR does not stop the script
    assert r[0].text.startswith("2 ") and not r[0].multiline  # RFC 1939 §5 STAT: "nn mm"
    sizes = [line.split() for line in r[1].lines]
    assert [n for n, _ in sizes] == ["1", "2"] and r[1].multiline
    assert int(r[0].text.split()[1]) == sum(int(size) for _, size in sizes)
    uidls = [line.split()[1] for line in r[2].lines]
    assert len(set(uidls)) == 2  # RFC 1939 §7: unique ids
    # RETR: the body un-stuffed, without the terminating "." line; its size is LIST's.
    retr = r[3]
    assert retr.multiline and b"Subject: dotted" in retr.body
    assert b"\r\n.leading dot\r\n..two dots\r\n" in retr.body and not retr.body.endswith(b".\r\n")
    assert len(retr.body) == int(sizes[0][1])
    top = r[4].body  # TOP 2 0: the header and the blank line only (RFC 1939 §7)
    assert b"Subject: second" in top and top.endswith(b"\r\n\r\n") and b"hello" not in top
    assert not r[5].multiline and r[5].text.split() == ["2", sizes[1][1]]  # LIST with argument: one line
    assert not r[6].ok and r[6].body == b""
    assert "UIDL" in r[7].lines
    assert s.quit.ok
    assert w.stats()["pop3_sessions_finished"] == 1


def test_quit_after_dele_removes_the_message_rfc1939_6():
    w = pop3_world()
    deliver(w, "keep", "remove")
    s = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["TOP 2 0", "DELE 2", "STAT"])
    assert s.wait(max_seconds=600)
    assert b"Subject: remove" in s.replies[0].body
    assert s.replies[1].ok and s.replies[2].text.startswith("1 ")  # a marked message is not counted
    assert s.quit.ok
    assert inbox_subjects(w) == ["keep"]


def test_crash_before_quit_deletes_nothing_rfc1939_6():
    # The DELE is acknowledged, then the server loses power before QUIT: no UPDATE state,
    # so nothing is removed.
    w = pop3_world()
    deliver(w, "one", "two")
    s = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["DELE 1", "DELE 2", pop3.Pause(60.0)])
    assert w.run_until(lambda: len(s.replies) >= 2, max_seconds=600)
    assert all(x.ok for x in s.replies[:2])
    w.crash("mx1")
    assert s.wait(max_seconds=600)
    assert s.quit is None or not s.quit.complete
    assert s.error != ""
    w.boot("mx1")
    w.run_for(60.0)
    assert inbox_subjects(w) == ["one", "two"]


def test_hang_up_without_quit_deletes_nothing():
    w = pop3_world()
    deliver(w, "one")
    s = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["DELE 1"], quit=False)
    assert s.wait(max_seconds=600)
    assert s.replies[0].ok and s.quit is None and s.error == ""
    w.run_for(10.0)
    assert inbox_subjects(w) == ["one"]


def test_wrong_password_and_config_errors():
    w = pop3_world()
    s = w.pop3_session("c1", "mx1", "alice", "nope", ["STAT"])
    assert s.wait(max_seconds=120)
    assert s.login.complete and not s.login.ok and s.replies == [] and "login refused" in s.error
    w.add_server("mx2", users=["bob"])
    with pytest.raises(cloudsdial.ConfigError, match="serves no POP3"):
        w.pop3_session("c1", "mx2", "bob", "x")
    with pytest.raises(cloudsdial.ConfigError, match="needs tls"):
        w.add_server("mx3", users=["carol"], pop3=True, logins={"carol": "pw"})
    with pytest.raises(cloudsdial.ConfigError, match="CR, LF"):
        w.pop3_session("c1", "mx1", "alice", "x", ["NOOP\r\nQUIT"])
    with pytest.raises(cloudsdial.ConfigError, match="quit=True"):
        w.pop3_session("c1", "mx1", "alice", "x", ["QUIT"])
    with pytest.raises(TypeError):
        w.pop3_session("c1", "mx1", "alice", "x", [42])


def test_same_seed_same_trace_hash():
    # Scripted POP3 sessions are part of the deterministic run.
    def run(seed):
        w = pop3_world(seed)
        deliver(w, "a", "b")
        s = w.pop3_session("c1", "mx1", "alice", LOGINS["alice"], ["UIDL", "RETR 1", "DELE 1"])
        assert s.wait(max_seconds=600)
        return w.trace_hash, [(r.status, r.text, r.body) for r in s.replies], inbox_subjects(w)

    first = run(11)
    assert run(11) == first
    assert run(12)[0] != first[0]
