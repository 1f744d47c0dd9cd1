#!/usr/bin/env python3
# Example: a flaky network (stalls, resets, a partition that comes and goes) and a client
# that retries until every message is acknowledged. Shows that retries get everything
# through and that the server never lost an acknowledged message.
#   python3 bindings/examples/flaky_network.py [SEED]
import sys

import cloudsdial

seed = int(sys.argv[1], 0) if len(sys.argv) > 1 else 1
world = cloudsdial.World(seed)
# An exchange lasts about 10 ms here; at 300 000 ppm, 3 in 10 connections are reset
# within their first 16 KiB and most messages (~14 KiB) are hit.
world.add_server("mx1", users=["alice", "bob"])
world.add_client("laptop")
world.set_network(latency=(0.001, 0.2), stall_ppm=20_000, reset_ppm=300_000)

# The link drops out for 10 s every 30 s.
def flap():
    world.partition("laptop", "mx1")
    world.after(10.0, lambda: world.heal("laptop", "mx1"))
    world.after(30.0, flap)

world.after(1.0, flap)

wanted = {f"report-{i}": ["alice@example.test"] if i % 2 else ["bob@example.test"] for i in range(8)}
delivered = {}
attempts = 0
backoff = 1.0
while len(delivered) < len(wanted) and attempts < 200:
    pending = [s for s in wanted if s not in delivered]
    sessions = {s: world.send("laptop", "mx1", to=wanted[s], subject=s, body=("y" * 70 + "\n") * 200,
                              start_delay=i * 2.0, connect_timeout=5.0)
                for i, s in enumerate(pending)}
    attempts += len(sessions)
    world.run_until_sessions_done(sessions.values(), max_seconds=600)
    for subject, session in sessions.items():
        if session.message.acked:
            delivered[subject] = session.message.id
    backoff = min(backoff * 2, 60.0)
    world.run_for(backoff)

print(f"seed={seed:#x} attempts={attempts} delivered={len(delivered)}/{len(wanted)} t={world.now:.1f}s "
      f"hash={world.trace_hash_hex}")
assert len(delivered) == len(wanted), "retries must get every message through"
for subject, rcpts in wanted.items():
    user = rcpts[0].split("@")[0]
    copies = [m for m in world.mailbox("mx1", user) if m.email()["Subject"] == subject]
    assert copies, f"{subject} acknowledged but not in {user}'s mailbox"
problems = world.check()
assert not problems, problems
print("every acknowledged message is in its mailbox; retries caused",
      sum(len(world.mailbox("mx1", u)) for u in ("alice", "bob")) - len(wanted), "extra copies")
