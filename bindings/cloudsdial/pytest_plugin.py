# cloudsdial.pytest_plugin: pytest fixtures, registered through the `pytest11` entry point
# when the package is installed (or with `-p cloudsdial.pytest_plugin`).
#   mail_sim     a cloudsdial.World seeded from the test's node id (or --mail-sim-seed);
#                a failing test reports the seed and the command that replays it
#                (`<this interpreter> -m pytest <test> --mail-sim-seed=…`).
#   mail_server  a cloudsdial.Server (embedded real server on 127.0.0.1, ephemeral port);
#                @pytest.mark.mail_server(users=[...], domains=[...]) configures it.
# main() is the `cloudsdial-pytest` command: pytest under the interpreter the package is
# installed for (in a venv, a bare `pytest` may be Debian's, which sees no venv packages).
from __future__ import annotations

import os
import shlex
import sys
import zlib

import pytest

from .server import Server
from .sim import World


def seed_for(nodeid: str) -> int:
    """The default mail_sim seed of a test: CRC-32 of its node id (stable across runs)."""
    return zlib.crc32(nodeid.encode("utf-8"))


def replay_command(item: pytest.Item, seed: int) -> str:
    """The shell command that reruns `item` with `seed`, from any directory: this interpreter
    (sys.executable: a venv's python, not whatever `pytest` is first on PATH), `-m pytest`,
    the test by absolute path (node ids are relative to the rootdir)."""
    path, sep, rest = item.nodeid.partition("::")
    target = str(item.config.rootpath / path) + sep + rest
    return shlex.join([sys.executable, "-m", "pytest", target, f"--mail-sim-seed={seed:#x}"])


def main() -> None:
    """`cloudsdial-pytest [pytest arguments]`: `python -m pytest` with the interpreter this
    package is installed for. It execs a fresh interpreter rather than calling pytest here,
    since pytest warns about (and cannot rewrite asserts in) a plugin imported before it starts."""
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[1:]])


def pytest_addoption(parser):
    group = parser.getgroup("cloudsdial")
    group.addoption("--mail-sim-seed", action="store", default=None, type=lambda s: int(s, 0),
                    help="seed every mail_sim world with this value (replays a failure)")


def pytest_configure(config):
    config.addinivalue_line("markers", "mail_server(**kwargs): options of the mail_server fixture (cloudsdial.Server)")


@pytest.fixture
def mail_sim(request) -> World:
    """A simulated world (cloudsdial.World) seeded from the test name."""
    seed = request.config.getoption("--mail-sim-seed")
    if seed is None:
        seed = seed_for(request.node.nodeid)
    request.node.stash[_SEED] = seed
    return World(seed)


@pytest.fixture
def mail_server(request) -> Server:
    """The real cloudsdial server, embedded, on 127.0.0.1 with an ephemeral port."""
    marker = request.node.get_closest_marker("mail_server")
    kwargs = dict(marker.kwargs) if marker else {}
    kwargs.setdefault("users", ("demo", "alice", "bob"))
    with Server(**kwargs) as server:
        yield server


_SEED = pytest.StashKey[int]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SEED in item.stash:
        seed = item.stash[_SEED]
        report.sections.append(("cloudsdial", f"mail_sim seed={seed:#x}; replay: {replay_command(item, seed)}"))
