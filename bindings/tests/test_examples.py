# Runs every example script in bindings/examples/ as a user would; each asserts its own
# claims and exits non-zero when one fails.
import subprocess
import sys

import pytest

from conftest import BINDINGS

EXAMPLES = sorted((BINDINGS / "examples").glob("*.py"))


def test_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"flaky_network.py", "crash_mid_transaction.py", "seed_sweep.py",
                                          "new_user_walkthrough.py"}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example(script):
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
