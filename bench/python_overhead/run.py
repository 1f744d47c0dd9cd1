#!/usr/bin/env python3
# Benchmark: the same scenario and seeds driven from Python and from the CLI, with no
# event callbacks. Prints the wall time per run of each and the ratio Python / CLI
# (target <= 1.2). Python is measured both ways: run_seeds (one call) and a ScenarioRun
# advanced from a Python loop in slices.
#   /usr/bin/python3 bench/python_overhead/run.py --build build/release [--scenario smtp-faults]
#                                                 [--seeds 1..10] [--repeat 3] [--slice 10000]
# --build is a non-sanitized build with the module (bindings/python) and the CLI.
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, type=Path)
    ap.add_argument("--scenario", default="smtp-faults")
    ap.add_argument("--seeds", default="1..10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slice", type=int, default=10_000, help="events per ScenarioRun.advance() call")
    args = ap.parse_args()
    sys.path.insert(0, str(args.build / "bindings" / "python"))
    import cloudsdial

    first, last = (int(x, 0) for x in args.seeds.split(".."))
    seeds = list(range(first, last + 1))
    cli = args.build / "server" / "app" / "cloudsdial"
    cli = [str(cli), "sim"] if cli.exists() else [str(args.build / "simulator" / "cloudsdial-sim")]
    scenario = cloudsdial.Scenario.builtin(args.scenario)

    def run_cli():
        # One process for the sweep, one thread: what `cloudsdial sim --seeds` costs.
        subprocess.run(cli + ["--scenario", args.scenario, "--seeds", args.seeds, "--jobs", "1"], check=True,
                       stdout=subprocess.DEVNULL)

    inner = []
    same_call = []  # (wall of one run_seeds call) / (C++ time inside it): noise-free overhead

    def run_batch():
        t0 = time.perf_counter()
        reports = cloudsdial.run_seeds(scenario, seeds, jobs=1)
        outer = time.perf_counter() - t0
        assert all(r.ok for r in reports)
        inside = sum(r.wall_seconds for r in reports)  # C++ time inside the runs
        inner.append(inside)
        same_call.append(outer / inside)
        return [r.trace_hash for r in reports]

    def run_sliced():
        hashes = []
        for seed in seeds:
            run = cloudsdial.ScenarioRun(scenario, seed)
            while run.advance(args.slice):
                pass
            hashes.append(run.report.trace_hash)
        return hashes

    assert run_batch() == run_sliced(), "slicing must not change a run"
    best = {}
    for _ in range(args.repeat):  # interleaved, best of N: least disturbed by other load
        for name, fn in (("cli", run_cli), ("python run_seeds", run_batch), ("python ScenarioRun", run_sliced)):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
    print(f"scenario={args.scenario} seeds={args.seeds} repeat={args.repeat} slice={args.slice} "
          f"build={args.build} (best of {args.repeat}, wall seconds per sweep)")
    best["c++ inside the runs"] = min(inner)
    for name, t in best.items():
        print(f"  {name:20s} {t:8.3f}s  {t / len(seeds) * 1000:8.1f} ms/run  ratio vs cli {t / best['cli']:.3f}")
    same_call.sort()
    print(f"  python call overhead (one run_seeds call / C++ time inside it): min {same_call[0]:.4f} "
          f"median {same_call[len(same_call) // 2]:.4f}")


if __name__ == "__main__":
    main()
