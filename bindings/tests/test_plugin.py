# The pytest plugin: fixtures mail_sim and mail_server through the `pytest11` entry point,
# the seed derived from the test name, and the replay line printed on failure.
import re
import shlex
import subprocess
import sys
import textwrap

import cloudsdial
from cloudsdial.pytest_plugin import seed_for


def test_plugin_is_registered_by_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("cloudsdial")


def test_mail_sim_is_seeded_from_the_test_name(mail_sim, request):
    assert isinstance(mail_sim, cloudsdial.World)
    assert mail_sim.seed == seed_for(request.node.nodeid)


def test_mail_server_fixture(mail_server):
    with mail_server.smtp() as s:
        s.sendmail("a@client.test", ["alice@example.test"], b"Subject: fixture\r\n\r\nx\r\n")
    assert mail_server.wait_for_message(timeout=30).email()["Subject"] == "fixture"


def test_failure_prints_seed_and_replay(tmp_path):
    test = tmp_path / "test_fails.py"
    test.write_text(textwrap.dedent("""
        def test_boom(mail_sim):
            mail_sim.add_server("mx1", users=["alice"])
            assert False, "planted"
    """))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 1
    seed = seed_for("test_fails.py::test_boom")
    assert f"mail_sim seed={seed:#x}" in out.stdout
    # The replay hint names this interpreter (a venv's `pytest` may be Debian's, which does
    # not see the venv), the test by absolute path, and the seed; it works from anywhere.
    replay = re.search(r"replay: (.*)$", out.stdout, re.MULTILINE)[1]
    assert shlex.split(replay) == [sys.executable, "-m", "pytest", f"{test}::test_boom", f"--mail-sim-seed={seed:#x}"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = subprocess.run(shlex.split(replay) + ["-q", "-p", "no:cacheprovider"], capture_output=True, text=True,
                           cwd=elsewhere, timeout=300)
    assert again.returncode == 1 and "1 failed" in again.stdout
    assert f"mail_sim seed={seed:#x}" in again.stdout


def test_cloudsdial_pytest_runs_pytest_with_this_interpreter():
    # The `cloudsdial-pytest` console script (pyproject.toml [project.scripts]).
    code = "import sys; from cloudsdial.pytest_plugin import main; sys.argv[1:] = ['--version']; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "pytest" in out.stdout + out.stderr
