# The relay's outbound queue through the World API (docs/PYTHON.md "Queue inspection"):
# World.from_scenario on a relay scenario gives two relaying MTAs (a.test, b.test) found
# through MX records; world.queue(host) shows each queued message as `cloudsdial queue show
# --json` does, with per-recipient state, attempts and last reply (issue 13).
import pytest

import cloudsdial


def test_queue_shows_deferred_recipients_then_drains():
    w = cloudsdial.World.from_scenario("relay-basic", 5)
    # b.test's MTA is cut off from a.test's: mail from a.test to b.test waits in mx1's queue.
    w.partition("mx1", "mx2")
    w.run_for(600.0)
    queued = w.queue("mx1")
    remote = [m for m in queued if any(r["address"].endswith("@b.test") for r in m["recipients"])]
    assert remote, queued
    m = remote[0]
    assert m["sender"].endswith("@a.test>")
    assert set(m) >= {"id", "arrival", "size", "sender", "pending", "deferred", "held", "active",
                      "next_attempt", "last_reply", "recipients"}
    to_b = [r for r in m["recipients"] if r["address"].endswith("@b.test")]
    assert to_b and all(r["state"] in ("pending", "deferred") for r in to_b)
    deferred = [r for r in to_b if r["state"] == "deferred"]
    assert deferred, m
    assert deferred[0]["attempts"] >= 1
    assert deferred[0]["last_reply"].startswith("451 4.4.1"), deferred[0]  # connect timed out
    assert deferred[0]["next_attempt"] is not None
    # Healed, the retries (1 min doubling, at most 10 min) deliver everything.
    w.heal()
    w.run_for(3600.0)
    assert w.queue("mx1") == []
    assert w.queue("mx2") == []
    # The queued message is the client's submission acknowledged "queued as <id>"; every
    # real user at b.test it named now holds it, once.
    sent = [s for s in w.messages if s.reply.endswith("queued as " + m["id"])]
    assert len(sent) == 1, m["id"]
    for r in to_b:
        user = r["address"].split("@")[0]
        if user.startswith("nobody"):
            continue
        copies = [x for x in w.mailbox("mx2", user) if x.sim_id == sent[0].id]
        assert len(copies) == 1, (user, sent[0].id)


def test_queue_errors_name_the_host():
    w = cloudsdial.World.from_scenario("relay-basic", 1)
    with pytest.raises(cloudsdial.ConfigError, match="client1"):
        w.queue("client1")
    w.crash("mx1")
    with pytest.raises(cloudsdial.StateError, match="mx1"):
        w.queue("mx1")
    plain = cloudsdial.World(1)
    plain.add_server("mx1", domains=["example.test"], users=["alice"])
    with pytest.raises(cloudsdial.ConfigError, match="no outbound queue"):
        plain.queue("mx1")
