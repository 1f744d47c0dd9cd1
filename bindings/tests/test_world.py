# The World API: building hosts, sending mail through scripted SMTP sessions, random
# workloads, worlds from scenario files (TLS included) with faults injected by hand,
# running with bounds, inspecting mailboxes (parsed with `email`), sent messages, stats
# and the trace.
import email.message

import pytest

import cloudsdial
from conftest import REPO

TINY = REPO / "simulator" / "scenarios" / "tiny-faults.toml"


def small_world(seed=1, **kw):
    w = cloudsdial.World(seed)
    w.add_server("mx1", domains=["example.test"], users=["alice", ("bob", ["robert"])], **kw)
    w.add_client("client1")
    return w


def test_send_and_inspect():
    w = small_world()
    assert w.hosts == ["mx1", "client1"]
    assert w.is_server("mx1") and not w.is_server("client1")
    assert w.address("mx1") == "10.0.1.1"
    s = w.send("client1", "mx1", mail_from="joe@clients.test", to="alice@example.test", subject="Hello",
               body="line one\n.line with a dot\n")
    assert not s.done
    assert s.wait(max_seconds=60)
    m = s.message
    assert m.outcome == "acked" and m.acked and m.reply.startswith("250")
    stored = w.mailbox("mx1", "alice")
    assert len(stored) == 1
    msg = stored[0].email()
    assert msg["Subject"] == "Hello"
    assert msg["Return-Path"] == "<joe@clients.test>"
    assert ".line with a dot" in msg.get_content()
    assert stored[0].sim_id == m.id
    assert w.mailbox("mx1", "bob") == []
    assert w.check() == []
    st = w.stats()
    assert st["acked"] == 1 and st["sessions_finished"] == 1 and st["mx1.messages_accepted"] == 1


def test_alias_unknown_user_and_null_sender():
    w = small_world()
    msg = email.message.EmailMessage()
    msg["Subject"] = "built with email"
    msg.set_content("body\n")
    s = w.session("client1", "mx1", [("", ["robert@example.test", "nobody@example.test"], msg)])
    w.run_until_sessions_done()
    m = s.message
    assert m.outcome == "acked"
    assert m.rcpt_accepted == [True, False]
    assert [x.user for x in w.mailbox("mx1")] == ["bob"]
    assert w.mailbox("mx1", "bob")[0].email()["Return-Path"] == "<>"
    refused = w.send("client1", "mx1", to=["nobody@example.test"])
    refused.wait()
    assert refused.message.outcome == "refused" and refused.message.reply.startswith("550")


def test_several_messages_one_session_and_chunking():
    w = small_world()
    s = w.session("client1", "mx1", [(None, "alice@example.test", None, f"m{i}") for i in range(3)], chunking=True)
    s.wait()
    assert [m.outcome for m in s.messages] == ["acked"] * 3
    subjects = sorted(x.email()["Subject"] for x in w.mailbox("mx1", "alice"))
    assert subjects == ["m0", "m1", "m2"]
    assert [m.id for m in w.messages] == [1, 2, 3]
    assert len(w.acked()) == 3


def test_same_seed_same_hash_different_seed_different_hash():
    def run(seed):
        w = small_world(seed)
        w.session("client1", "mx1", [(None, "alice@example.test")] * 2)
        w.run_until_idle()
        return w.trace_hash
    assert run(5) == run(5)
    assert run(5) != run(6)


def test_run_for_and_run_until():
    w = small_world()
    start = w.now
    assert w.run_for(10.0) == "time_limit"
    assert w.now == pytest.approx(start + 10.0)
    s = w.send("client1", "mx1", to="alice@example.test", start_delay=5.0)
    assert w.run_until(lambda: s.done, max_seconds=120)
    assert s.message.acked
    assert w.run_until(lambda: False, max_seconds=1) is False
    assert w.run_until_idle() == "idle"
    assert w.steps > 0 and w.trace_records if hasattr(w, "trace_records") else True


def test_partition_and_heal():
    w = small_world()
    w.partition("client1", "mx1")
    s = w.send("client1", "mx1", to="alice@example.test", connect_timeout=5.0)
    s.wait()
    assert s.connect_failed and s.message.outcome == "not_sent"
    w.heal()
    s2 = w.send("client1", "mx1", to="alice@example.test")
    s2.wait()
    assert s2.message.acked
    w.partition("client1", "mx1", one_way=True)
    w.heal("client1", "mx1")
    w.isolate("mx1")
    w.heal()


def test_lossy_slow_link_still_delivers_everything_acked():
    def run(seed, loss):
        w = small_world(seed)
        lost = []
        w.on_trace(lambda e: lost.append(e.detail), prefix="net.loss")
        w.set_link("client1", "mx1", latency=(0.005, 0.02), loss=loss)
        w.heal()  # links are not partitions: they stay
        sessions = [w.session("client1", "mx1", [(None, "alice@example.test")] * 3, start_delay=i * 0.5)
                    for i in range(4)]
        w.run_until_sessions_done(sessions)
        acked = [m for s in sessions for m in s.messages if m.acked]
        assert len(acked) == 12  # loss only delays: TCP retransmits
        assert len(w.mailbox("mx1", "alice")) == len(acked)
        assert w.check() == []
        return w.trace_hash, len(lost), w.now
    hash1, losses, lossy_done = run(3, 0.3)
    assert losses > 10
    assert run(3, 0.3) == (hash1, losses, lossy_done)  # same seed, same trace
    clean_hash, clean_losses, _ = run(3, 0.0)
    assert clean_losses == 0 and clean_hash != hash1


def test_clear_link_and_link_errors():
    def run(clear):
        w = small_world(4)
        w.set_link("client1", "mx1", loss=1.0)  # every SYN is lost
        s = w.send("client1", "mx1", to="alice@example.test", connect_timeout=5.0)
        s.wait()
        assert s.connect_failed and s.message.outcome == "not_sent"
        if clear:
            w.clear_link("mx1", "client1")
        s = w.send("client1", "mx1", to="alice@example.test", connect_timeout=5.0)
        s.wait()
        return s.message.outcome
    assert run(clear=True) == "acked"
    assert run(clear=False) == "not_sent"
    w = small_world()
    with pytest.raises(cloudsdial.ConfigError):
        w.set_link("client1", "mx1", loss=1.5)
    with pytest.raises(cloudsdial.ConfigError):
        w.set_link("client1", "mx1", latency=(0.2, 0.1))
    with pytest.raises(cloudsdial.ConfigError):
        w.set_link("mx1", "mx1", latency=(0.1, 0.2))
    w.clear_link("client1", "mx1")  # no link: nothing to do


def test_crash_and_restart_keep_acked_mail():
    w = small_world()
    s = w.send("client1", "mx1", to="alice@example.test")
    s.wait()
    w.crash("mx1")
    assert not w.host_up("mx1")
    assert len(w.mailbox("mx1", "alice", durable=True)) == 1
    w.restart("mx1")
    w.run_for(1.0)
    assert w.host_up("mx1")
    assert w.stats()["mx1.incarnation"] == 2
    assert len(w.mailbox("mx1", "alice")) == 1
    assert w.check() == []


def test_disk_and_network_knobs():
    w = small_world()
    w.set_disk("mx1", sync_eio_ppm=1_000_000)
    assert w.disk("mx1")["sync_eio_ppm"] == 1_000_000
    s = w.send("client1", "mx1", to="alice@example.test")
    s.wait()
    assert s.message.outcome == "refused" and s.message.reply.startswith("451")
    w.set_disk("mx1", sync_eio_ppm=0, latency=(0.0001, 0.001))
    w.set_network(latency=(0.01, 0.05), stall_ppm=1000)
    assert w.network["latency"] == pytest.approx((0.01, 0.05))
    s = w.send("client1", "mx1", to="alice@example.test")
    s.wait()
    assert s.message.acked
    assert w.check() == []


def test_trace_tail_and_hash_text():
    w = small_world()
    w.send("client1", "mx1", to="alice@example.test").wait()
    assert "host.boot" in w.trace_tail(500)
    assert w.trace_hash_hex == f"{w.trace_hash:016x}"


def test_add_workload():
    w = small_world(4)
    w.add_client("client2")
    sessions = w.add_workload(8, start=(0.0, 30.0), abrupt_disconnect_ppm=0, unknown_recipient_ppm=0)
    assert len(sessions) == 8 and {s.index for s in sessions} == set(range(8))
    assert w.run_until_sessions_done(sessions, max_seconds=600)
    assert all(m.outcome == "acked" for s in sessions for m in s.messages)
    assert w.check() == []
    with pytest.raises(cloudsdial.ConfigError):
        w.add_workload(1, no_such_ppm=1)
    with pytest.raises(cloudsdial.ConfigError):
        w.add_workload(1, starttls_ppm=1_000_000)  # mx1 has no TLS
    with pytest.raises(cloudsdial.ConfigError):
        w.add_workload(1, clients=["mx1"])
    w.crash("client2")
    with pytest.raises(cloudsdial.StateError):
        w.add_workload(1, clients=["client2"])


def from_scenario_run(path, seed, phase):
    world = cloudsdial.World.from_scenario(path, seed=seed)
    world.run_for(phase / 2)
    world.crash("mx1")
    world.restart("mx1")
    assert world.run_until_sessions_done(world.workload, max_seconds=7200)
    return world


def test_world_from_scenario_with_own_faults():
    scenario = cloudsdial.Scenario.from_file(str(TINY))
    world = from_scenario_run(str(TINY), 76, scenario.fault_phase)
    assert world.hosts[:scenario.servers] == [f"mx{i + 1}" for i in range(scenario.servers)]
    assert len(world.hosts) == scenario.servers + scenario.client_hosts
    assert len(world.workload) == scenario.sessions
    assert all(s.done for s in world.workload)
    assert world.check() == []
    again = from_scenario_run(str(TINY), 76, scenario.fault_phase)
    assert again.trace_hash == world.trace_hash
    with pytest.raises(cloudsdial.StateError):
        world._setup_scenario(scenario)  # only on an empty world


def test_tls_world_from_code_and_from_scenario():
    w = cloudsdial.World(5)
    w.add_server("mx1", users=["alice", "bob"], tls=True)
    w.add_client("c1")
    sessions = w.add_workload(4, starttls_ppm=1_000_000, abrupt_disconnect_ppm=0, unknown_recipient_ppm=0)
    assert w.run_until_sessions_done(sessions, max_seconds=600)
    assert w.stats()["tls_sessions"] == 4
    assert all(m.outcome == "acked" for s in sessions for m in s.messages)
    assert w.check() == []

    def tls_run():
        world = cloudsdial.World.from_scenario("smtp-tls", seed=3)
        assert world.run_until_sessions_done(world.workload, max_seconds=7200)
        return world
    first, second = tls_run(), tls_run()
    assert first.stats()["tls_sessions"] > 0
    assert first.check() == []
    assert first.trace_hash == second.trace_hash  # OpenSSL's randomness comes from the seed
