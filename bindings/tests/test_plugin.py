# The pytest plugin: fixtures mail_sim and mail_server through the `pytest11` entry point,
# the seed derived from the test name, and the replay line printed on failure.
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
    assert f"--mail-sim-seed={seed:#x}" in out.stdout
    again = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test),
                            f"--mail-sim-seed={seed:#x}"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert f"mail_sim seed={seed:#x}" in again.stdout
