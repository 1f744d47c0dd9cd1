# The HTTP/JMAP conformance transcript suite (conformance/jmap/run.py with the cases of
# conformance/jmap/cases/*.json, each citing its RFC 8620 / RFC 8621 section) against the
# real `cloudsdial serve` on loopback: every case must pass. The runner itself is exercised
# both ways: a deliberately wrong expectation must fail (the suite can fail).
import importlib.util
import json

import pytest

from conftest import IMAP_USERS, REPO, new_jmap_server

RUNNER = REPO / "conformance" / "jmap" / "run.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("jmap_conformance_run", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = new_jmap_server(tmp_path_factory.mktemp("jmapconf"))
    yield srv
    if srv.proc is not None:
        srv.stop()


def url(srv):
    return f"http://127.0.0.1:{srv.http_ports['http']}"


def test_suite_has_at_least_25_cases_each_citing_an_rfc():
    cases = load_runner().load_cases()
    assert len(cases) >= 25
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "case ids are unique"
    for c in cases:
        assert "RFC " in c["rfc"] and "§" in c["rfc"], c["id"]
        assert c["steps"], c["id"]


def test_every_case_passes_against_cloudsdial(server, capsys):
    rc = load_runner().main(["--url", url(server), "--user", "alice", "--password", IMAP_USERS["alice"]])
    out = capsys.readouterr().out
    assert rc == 0, "\n".join(line for line in out.splitlines() if not line.startswith("PASS"))
    assert "FAIL" not in out


def test_a_wrong_expectation_fails(server):
    mod = load_runner()
    runner = mod.Runner(url(server), "bob", IMAP_USERS["bob"])
    runner.setup()
    case = {"id": "wrong", "rfc": "RFC 8620 §4", "steps": [
        {"call": [["Core/echo", {"x": 1}, "e"]],
         "expect": {"json": [{"pointer": "/methodResponses/0/1/x", "equals": 2}]}}]}
    with pytest.raises(mod.CaseFailed):
        runner.run_case(json.loads(json.dumps(case)))
    case["steps"][0]["expect"]["json"][0]["equals"] = 1
    runner.run_case(case)
