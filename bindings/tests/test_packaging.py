# Packaging (bindings/pyproject.toml, setup.py, the root pyproject.toml): the entry points
# name real functions, the root builds the same project as bindings/, setup.py refuses an
# unsupported interpreter or a missing `wheel` in one sentence, and the build's progress is
# reported. No CMake build here: installing for real is a manual check (docs/PYTHON.md).
import importlib.util
import shutil
import subprocess
import sys
import tomllib

import pytest

from conftest import BINDINGS, REPO


def load_setup_py():
    spec = importlib.util.spec_from_file_location("cloudsdial_setup_py", BINDINGS / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # __name__ is not __main__: nothing is built
    return module


def test_entry_points_name_real_functions():
    project = tomllib.loads((BINDINGS / "pyproject.toml").read_text())["project"]
    for target in [*project["scripts"].values(), *project["entry-points"]["pytest11"].values()]:
        module, _, attr = target.partition(":")
        loaded = importlib.import_module(module)
        assert not attr or callable(getattr(loaded, attr)), target
    assert project["scripts"]["cloudsdial-pytest"] == "cloudsdial.pytest_plugin:main"
    assert project["entry-points"]["pytest11"] == {"cloudsdial": "cloudsdial.pytest_plugin"}


def test_root_builds_the_bindings_project(tmp_path):
    # A copy of the two pyproject.toml files and the Python side of bindings/, so the
    # metadata step writes nothing into the checkout.
    root = tmp_path / "repo"
    (root / "bindings").mkdir(parents=True)
    shutil.copy2(REPO / "pyproject.toml", root)
    for name in ["pyproject.toml", "setup.py", "root_backend.py", "README.md"]:
        shutil.copy2(BINDINGS / name, root / "bindings")
    shutil.copytree(BINDINGS / "cloudsdial", root / "bindings" / "cloudsdial",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    system = tomllib.loads((root / "pyproject.toml").read_text())["build-system"]
    assert system["build-backend"] == "root_backend" and system["backend-path"] == ["bindings"]
    out_dir = tmp_path / "metadata"
    out_dir.mkdir()
    code = ("import sys; sys.path.insert(0, 'bindings'); import root_backend; "
            f"print(root_backend.prepare_metadata_for_build_wheel({str(out_dir)!r}))")
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    dist_info = out_dir / run.stdout.strip().splitlines()[-1]
    metadata = (dist_info / "METADATA").read_text()
    assert "Name: cloudsdial" in metadata and "Requires-Python: >=3.11" in metadata
    entry_points = (dist_info / "entry_points.txt").read_text()
    assert "cloudsdial-pytest = cloudsdial.pytest_plugin:main" in entry_points
    assert "[pytest11]" in entry_points and "cloudsdial = cloudsdial.pytest_plugin" in entry_points


def test_unsupported_interpreter_is_refused_in_one_sentence(monkeypatch):
    setup_py = load_setup_py()
    monkeypatch.delenv("CLOUDSDIAL_ANY_PYTHON", raising=False)
    monkeypatch.setattr(sys, "base_prefix", "/root/.pyenv/versions/3.12.1")
    with pytest.raises(SystemExit) as refused:
        setup_py.check_interpreter()
    message = str(refused.value.code)
    assert message.startswith("cloudsdial: only Debian's /usr/bin/python3")
    assert "/usr/bin/python3 -m venv --system-site-packages" in message and "\n" not in message


def test_missing_wheel_is_refused_in_one_sentence(monkeypatch):
    setup_py = load_setup_py()
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wheel" else real(name, *a))
    with pytest.raises(SystemExit) as refused:
        setup_py.check_interpreter()
    assert "python3-wheel" in str(refused.value.code) and "bdist_wheel" in str(refused.value.code)


def test_build_progress_is_reported(capsys):
    setup_py = load_setup_py()
    progress = setup_py.Progress()
    progress.tty = None  # stdout only; pip shows it with -v, the terminal gets the same lines
    fake_ninja = "print('[0/2] Re-checking globbed directories...'); " + "; ".join(
        f"print('[{i}/20] Building CXX object x{i}.o')" for i in range(1, 21))
    progress.run([sys.executable, "-c", fake_ninja])
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("cloudsdial: ")]
    # The first step, then every tenth: a silent pip install is what this is for.
    expected = [5] + list(range(10, 101, 10))
    assert said == [f"cloudsdial: C++ build {p}% ({p // 5}/20 steps)" for p in expected]
