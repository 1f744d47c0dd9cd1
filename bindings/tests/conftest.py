# Shared helpers of the bindings' pytest suite: where the repository and the CLI are. The
# suite imports `cloudsdial` from PYTHONPATH (the build's bindings/python, set by ctest) or
# from an installed package (pip install ./bindings). The plugin comes via its entry point.
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDINGS = REPO / "bindings"


def sim_cli():
    """The command that runs `cloudsdial sim` (the app binary, else the stand-alone one)."""
    app = os.environ.get("CLOUDSDIAL_BIN")
    if app and Path(app).exists():
        return [app, "sim"]
    alone = os.environ.get("CLOUDSDIAL_SIM_BIN")
    if alone and Path(alone).exists():
        return [alone]
    found = shutil.which("cloudsdial")
    if found:
        return [found, "sim"]
    pytest.skip("no cloudsdial binary: set CLOUDSDIAL_BIN")


@pytest.fixture
def cli():
    return sim_cli()
