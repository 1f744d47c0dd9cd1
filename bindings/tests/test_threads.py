# The GIL is released while a World simulates: two worlds run in two threads and give the
# same hashes as run one after the other, and a run blocked inside C++ can be released
# only by another Python thread (which needs the GIL to be free).
import threading

import cloudsdial


def drive(seed):
    w = cloudsdial.World(seed)
    w.add_server("mx1", users=["alice", "bob"])
    w.add_client("c1")
    w.add_client("c2")
    for i in range(6):
        w.send("c1" if i % 2 else "c2", "mx1", to=["alice@example.test", "bob@example.test"], subject=f"m{i}",
               start_delay=i * 0.5)
    w.run_until_idle()
    assert w.check() == []
    return w.trace_hash


def test_two_worlds_in_two_threads():
    expected = [drive(11), drive(12)]
    results = [None, None]

    def worker(i, seed):
        results[i] = drive(seed)

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate((11, 12))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_run_releases_the_gil():
    w = cloudsdial.World(1)
    w.add_server("mx1", users=["alice"])
    latch = cloudsdial._core._Latch()
    w._block_on(latch, 120.0)
    t = threading.Thread(target=lambda: w.run_for(1.0))
    t.start()
    # This thread can only run (and call set) while the other one is inside the run
    # because the run released the GIL.
    while not latch.waiting:
        threading.Event().wait(0.001)
    latch.set()
    t.join()
    assert latch.released_in_time
