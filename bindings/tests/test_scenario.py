# Scenarios from Python: built-in, TOML file and text; run_scenario, ScenarioRun in slices
# with callbacks, run_seeds (smtp-tls included), the planted-bug sweep, and the determinism
# check Python vs the C++ CLI (`cloudsdial sim`): same scenario + seed => same trace hash.
import json
import subprocess

import pytest

import cloudsdial
from conftest import REPO

TINY = REPO / "simulator" / "scenarios" / "tiny-faults.toml"


def cli_hash(cli, scenario, seed, *extra):
    out = subprocess.run(cli + ["--scenario", scenario, "--seed", str(seed), "--json", *extra],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def test_builtin_and_file_scenarios():
    names = cloudsdial.Scenario.builtin_names()
    assert {"smtp-basic", "smtp-faults", "smtp-crash", "smtp-tls"} <= set(names)
    s = cloudsdial.Scenario.builtin("smtp-basic")
    assert s.name == "smtp-basic" and s.origin == "smtp-basic" and s.servers == 1 and "alice" in s.users
    f = cloudsdial.Scenario.from_file(str(TINY))
    assert f.origin == str(TINY)
    t = cloudsdial.Scenario.from_toml(TINY.read_text(), "tiny")
    assert t.name == f.name
    with pytest.raises(cloudsdial.NotFoundError):
        cloudsdial.Scenario.builtin("nope")
    with pytest.raises(cloudsdial.ConfigError):
        cloudsdial.Scenario.from_toml("name = [", "bad")


@pytest.mark.parametrize("scenario,seed", [("smtp-basic", 7), (str(TINY), 76), ("smtp-tls", 5)])
def test_python_and_cli_give_the_same_hash(cli, scenario, seed):
    s = cloudsdial.Scenario.builtin(scenario) if "/" not in scenario else cloudsdial.Scenario.from_file(scenario)
    report = cloudsdial.run_scenario(s, seed)
    assert report.ok, report.violations
    expected = cli_hash(cli, scenario, seed)
    assert report.trace_hash_hex == expected["hash"]
    assert report.acked == expected["acked"] and report.messages == expected["messages"]


def test_scenario_run_in_slices_with_callbacks_same_hash():
    s = cloudsdial.Scenario.from_file(str(TINY))
    whole = cloudsdial.run_scenario(s, 76)
    run = cloudsdial.ScenarioRun(s, 76)
    accepted, delivered = [], []
    run._set_events(True, True, [], lambda e: (accepted if e.kind == "accepted" else delivered).append(e))
    slices = 0
    while run.advance(100):
        slices += 1
        assert run.steps > 0
    assert slices > 1 and run.finished
    report = run.report
    assert report.trace_hash == whole.trace_hash
    assert len(accepted) == report.acked
    assert len(delivered) >= report.acked
    ledger = run._messages()
    assert sum(1 for m in ledger if m["outcome"] == "acked") == report.acked
    stored = run._mailbox("mx1", None, False)
    assert len(stored) >= 1


def test_run_seeds_matches_single_runs_and_releases_nothing_wrong():
    seeds = [1, 2, 3, 4]
    reports = cloudsdial.run_seeds("smtp-basic", seeds, jobs=2)
    assert [r.seed for r in reports] == seeds
    assert all(r.ok for r in reports)
    single = [cloudsdial.run_scenario(cloudsdial.Scenario.builtin("smtp-basic"), s).trace_hash for s in seeds]
    assert [r.trace_hash for r in reports] == single
    assert reports[0].replay.startswith("cloudsdial sim --scenario smtp-basic --seed 0x1")


def test_sweep_finds_the_planted_bug_and_replays_it(cli):
    reports = cloudsdial.run_seeds("smtp-crash", range(1, 9), jobs=2, lying_fsync=True)
    bad = [r for r in reports if not r.ok]
    assert bad, "the lying fsync must be caught within 8 seeds"
    first = bad[0]
    assert any(v[0] == "lost-after-ack" for v in first.violations), first.violations
    assert "--inject-bug lying-fsync" in first.replay
    again = cloudsdial.run_scenario(cloudsdial.Scenario.builtin("smtp-crash"), first.seed, lying_fsync=True)
    assert again.trace_hash == first.trace_hash and not again.ok
    expected = cli_hash(cli, "smtp-crash", first.seed, "--inject-bug", "lying-fsync")
    assert expected["hash"] == first.trace_hash_hex and expected["ok"] is False


def test_run_seeds_smtp_tls():
    seeds = [1, 2, 3]
    reports = cloudsdial.run_seeds("smtp-tls", seeds, jobs=2)
    assert [r.seed for r in reports] == seeds
    assert all(r.ok for r in reports), [r.violations for r in reports]
    assert all(r.tls_sessions > 0 for r in reports)
    single = [cloudsdial.run_scenario(cloudsdial.Scenario.builtin("smtp-tls"), s).trace_hash for s in seeds]
    assert [r.trace_hash for r in reports] == single  # threads do not share OpenSSL randomness
