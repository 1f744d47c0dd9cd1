# Event callbacks (accepted, delivered, trace) run at deterministic points of a run,
# world.after() schedules Python as a world event, and exceptions in callbacks surface
# from the run call that was running them.
import pytest

import cloudsdial


def world(seed=3):
    w = cloudsdial.World(seed)
    w.add_server("mx1", users=["alice"])
    w.add_client("client1")
    return w


def test_accepted_and_delivered_events_in_order():
    w = world()
    seen = []
    w.on_delivered(lambda e: seen.append(("delivered", e.host, e.queue_id, e.time)))
    w.on_accepted(lambda e: seen.append(("accepted", e.host, e.message_id, e.time)))
    s = w.send("client1", "mx1", to="alice@example.test")
    s.wait()
    assert [x[0] for x in seen] == ["delivered", "accepted"]
    assert seen[0][1] == "mx1" and len(seen[0][2]) > 0
    assert seen[1][1] == "client1" and seen[1][2] == s.message.id
    assert seen[0][3] <= seen[1][3]


def test_callbacks_do_not_change_the_trace():
    def run(with_callbacks):
        w = world(9)
        if with_callbacks:
            w.on_accepted(lambda e: None)
            w.on_delivered(lambda e: None)
            w.on_trace(lambda e: None, prefix="net.")
        w.session("client1", "mx1", [(None, "alice@example.test")] * 3)
        w.run_until_idle()
        return w.trace_hash
    assert run(True) == run(False)


def test_trace_events_by_prefix():
    w = world()
    kinds = []
    w.on_trace(lambda e: kinds.append(e.trace_kind), prefix="disk.sync")
    w.send("client1", "mx1", to="alice@example.test").wait()
    assert kinds and all(k.startswith("disk.sync") for k in kinds)


def test_world_changes_from_callbacks_go_through_after():
    w = world()
    crashed = []

    def on_delivered(event):
        with pytest.raises(cloudsdial.StateError):
            w.crash("mx1")  # not inline: it would pull the host from under the running event
        w.after(0.0, lambda: (w.crash("mx1"), crashed.append(w.now)))

    w.on_delivered(on_delivered)
    s = w.send("client1", "mx1", to="alice@example.test")
    w.run_until_idle()
    assert crashed and not w.host_up("mx1")
    # Crashed right after the durable store: the 250 may or may not have reached the
    # client, but the message is on disk, and nothing acknowledged is missing.
    assert len(w.mailbox("mx1", "alice", durable=True)) == 1
    assert s.message.outcome in ("acked", "unknown")
    assert w.check() == []


def test_exception_in_callback_stops_the_run_and_propagates():
    w = world()

    def boom(event):
        raise KeyError("from callback")

    w.on_accepted(boom)
    w.send("client1", "mx1", to="alice@example.test")
    with pytest.raises(KeyError, match="from callback"):
        w.run_until_idle()
    # The world is still usable afterwards.
    w._set_events(False, False, [], None)
    assert w.run_until_idle() == "idle"


def test_exception_in_predicate_and_after():
    w = world()
    with pytest.raises(ZeroDivisionError):
        w.run_until(lambda: 1 / 0)
    w.after(1.0, lambda: [][1])
    with pytest.raises(IndexError):
        w.run_for(5.0)


def test_run_inside_a_callback_is_refused():
    w = world()
    errors = []

    def nested():
        try:
            w.run_for(1.0)
        except cloudsdial.StateError as e:
            errors.append(str(e))

    w.after(0.5, nested)
    w.run_for(1.0)
    assert errors and "already running" in errors[0]
