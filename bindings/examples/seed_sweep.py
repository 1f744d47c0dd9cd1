#!/usr/bin/env python3
# Example: a seed sweep that finds a planted bug and replays it. The bug is the
# simulator's lying fsync (sync makes nothing durable: "250 before fsync"); the
# crash-heavy scenario must catch it, and the failing seed must replay bit for bit.
#   python3 bindings/examples/seed_sweep.py [SEEDS]
import sys

import cloudsdial

count = int(sys.argv[1]) if len(sys.argv) > 1 else 12
scenario = cloudsdial.Scenario.builtin("smtp-crash")

healthy = cloudsdial.run_seeds(scenario, range(1, count + 1), jobs=2)
assert all(r.ok for r in healthy), [r.summary() for r in healthy if not r.ok]
print(f"{count} seeds without the bug: all ok")

buggy = cloudsdial.run_seeds(scenario, range(1, count + 1), jobs=2, lying_fsync=True)
failing = [r for r in buggy if not r.ok]
assert failing, "the planted bug was not found"
first = failing[0]
print(f"planted bug found by {len(failing)}/{count} seeds; first: seed={first.seed:#x}")
for invariant, detail in first.violations[:3]:
    print(f"  {invariant}: {detail}")
print(f"  replay: {first.replay}")

again = cloudsdial.run_scenario(scenario, first.seed, lying_fsync=True)
assert again.trace_hash == first.trace_hash and again.violations == first.violations
print(f"replayed seed {first.seed:#x}: same trace hash {again.trace_hash_hex}, same violations")
