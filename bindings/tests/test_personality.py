# Remote-MX personalities through the World API (docs/SIMULATOR.md, docs/PYTHON.md):
# greylisting (RFC 6647), refusals at a stage, the drop after the final dot (RFC 1047),
# garbled replies, errors that name the key, and scenario files with [hosts.NAME.personality].
import pytest

import cloudsdial
from conftest import REPO

SCENARIO = REPO / "simulator" / "scenarios" / "smtp-personalities.toml"


def small_world(seed=1):
    w = cloudsdial.World(seed)
    w.add_server("mx1", domains=["example.test"], users=["alice", "bob"])
    w.add_client("client1")
    return w


def test_greylist_rfc6647_retry_after_the_delay_is_accepted():
    w = small_world()
    w.set_personality("mx1", greylist=True, greylist_delay=60.0)
    first = w.send("client1", "mx1", mail_from="joe@clients.test", to="alice@example.test")
    assert first.wait(max_seconds=600)
    assert first.message.outcome == "refused" and first.message.rcpt_accepted == [False]
    w.run_for(90.0)
    retry = w.send("client1", "mx1", mail_from="joe@clients.test", to="alice@example.test")
    assert retry.wait(max_seconds=600)
    assert retry.message.outcome == "acked", retry.message.reply
    assert [m.sim_id for m in w.mailbox("mx1", "alice")] == [retry.message.id]
    counters = w.personality_counters("mx1")
    assert counters["greylisted"] == 1 and counters["greylist_passed"] == 1
    assert w.check() == []


def test_reply_at_a_stage_and_clearing_it():
    w = small_world()
    w.set_personality("mx1", {"mail": {"reply": "451 4.3.0 Try again later"}})
    s = w.send("client1", "mx1", to="alice@example.test")
    assert s.wait(max_seconds=600)
    assert s.message.outcome == "refused" and s.message.reply.startswith("451")
    w.clear_personality("mx1")
    assert w.personality_counters("mx1") is None
    s = w.send("client1", "mx1", to="alice@example.test")
    assert s.wait(max_seconds=600)
    assert s.message.acked


def test_drop_after_dot_rfc1047_is_stored_and_recorded():
    w = small_world()
    w.set_personality("mx1", drop_after_dot_ppm=1_000_000)
    s = w.send("client1", "mx1", to="bob@example.test")
    assert s.wait(max_seconds=600)
    assert s.message.outcome == "unknown"              # the 250 never arrived
    assert [m.sim_id for m in w.mailbox("mx1", "bob")] == [s.message.id]   # but it is stored
    drops = w.dropped_after_dot()
    assert len(drops) == 1
    assert drops[0]["host"] == "mx1" and drops[0]["client"] == w.address("client1")
    assert drops[0]["sim_id"] == s.message.id and drops[0]["queue_id"]
    assert w.check() == []


@pytest.mark.parametrize("kind", ["corrupt", "split", "endless", "long_line"])
def test_garbled_rcpt_reply_is_survived(kind):
    w = small_world()
    w.set_personality("mx1", rcpt={"garble_ppm": 1_000_000, "garble": [kind]})
    s = w.send("client1", "mx1", to=["alice@example.test", "bob@example.test"])
    assert s.wait(max_seconds=3600)
    assert s.message.acked == (kind == "split")
    assert w.personality_counters("mx1")["garbled"] >= 1
    assert w.check() == []


def test_slow_stage_is_slow():
    w = small_world()
    w.set_personality("mx1", greeting={"delay": (30.0, 30.0)})
    start = w.now
    s = w.send("client1", "mx1", to="alice@example.test")
    assert s.wait(max_seconds=600)
    assert s.message.acked and s.message.decided_at - start >= 30.0


def test_errors_name_the_key():
    w = small_world()
    with pytest.raises(cloudsdial.ConfigError, match="rcpt.reply"):
        w.set_personality("mx1", rcpt={"reply": "250 2.0.0 Ok"})
    with pytest.raises(cloudsdial.ConfigError, match="greylst"):
        w.set_personality("mx1", greylst=True)
    with pytest.raises(cloudsdial.ConfigError, match="not a mail server"):
        w.set_personality("client1", greylist=True)
    with pytest.raises(cloudsdial.ConfigError, match="delay"):
        w.set_personality("mx1", data={"delay": 3})


def test_same_seed_same_run():
    def run(seed):
        w = small_world(seed)
        w.set_personality("mx1", rcpt={"reply": "450 4.2.0 Busy", "reply_ppm": 500_000})
        sessions = [w.send("client1", "mx1", to="alice@example.test", start_delay=i) for i in range(8)]
        for s in sessions:
            assert s.wait(max_seconds=600)
        return [s.message.outcome for s in sessions], w.trace_hash
    assert run(3) == run(3)
    assert run(3)[1] != run(4)[1]


def test_scenario_file_with_personalities():
    scenario = cloudsdial.Scenario.from_file(str(SCENARIO))
    report = cloudsdial.run_scenario(scenario, 2)
    assert report.ok, report.violations
    # from_scenario carries the personalities too (without the chaos that clears them).
    w = cloudsdial.World.from_scenario(scenario, 2)
    assert w.personality_counters("mx1") is not None and w.personality_counters("mx3") is not None
    for s in w.workload:
        s.wait(max_seconds=7200)
    assert w.personality_counters("mx1")["greylisted"] > 0
    assert w.check() == []
