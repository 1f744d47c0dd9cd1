#!/usr/bin/env python3
# Example: the server host loses power in the middle of transactions — right after an
# fsync (before the 250 goes out) and right after a 250 — then restarts. Proves with
# the disk's durable view that nothing acknowledged was lost.
#   python3 bindings/examples/crash_mid_transaction.py [SEED]
import sys

import cloudsdial

seed = int(sys.argv[1], 0) if len(sys.argv) > 1 else 7
world = cloudsdial.World(seed)
world.add_server("mx1", users=["alice"], tear_ppm=1_000_000)  # unsynced writes tear at a crash
world.add_client("client1")
crashes = []


def crash_and_restart(why):
    if world.host_up("mx1"):
        crashes.append((round(world.now, 6), why))
        world.crash("mx1")
        world.after(2.0, lambda: world.boot("mx1"))


syncs = 0


def on_sync(event):
    # Every third durable sync of mx1: pull the plug before the reply can go out.
    global syncs
    if event.host == "mx1" and len(crashes) < 3:
        syncs += 1
        if syncs % 3 == 0:
            world.after(0.0, lambda: crash_and_restart("after fsync"))


def on_accepted(event):
    # The client has its 250: crash 1 ms later (a transaction of another session may be
    # half-way through its DATA).
    if len(crashes) < 4:
        world.after(0.001, lambda: crash_and_restart("after 250"))


world.on_trace(on_sync, prefix="disk.sync")
world.on_accepted(on_accepted)
sessions = [world.send("client1", "mx1", to="alice@example.test", subject=f"tx-{i}", body=("x" * 70 + "\n") * 30,
                       start_delay=i * 1.5) for i in range(12)]
world.run_until_sessions_done(sessions, max_seconds=3600)
world.run_for(5.0)

acked = world.acked()
durable = {m.sim_id for m in world.mailbox("mx1", "alice", durable=True)}
print(f"seed={seed:#x} crashes={crashes}")
print(f"sent={len(world.messages)} acked={len(acked)} durable copies={len(durable)}")
lost = [m.id for m in acked if m.id not in durable]
assert crashes, "the example must crash the server"
assert not lost, f"acknowledged but lost: {lost}"
problems = world.check()
assert not problems, problems
print("nothing acknowledged was lost")
