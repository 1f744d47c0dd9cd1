# setuptools glue: builds cloudsdial._core with the project's own CMake build (the
# repository root is this directory's parent) and puts the .so into the package.
# CLOUDSDIAL_BUILD_DIR picks the CMake build directory (default: <repo>/build/python,
# reused between installs); CLOUDSDIAL_BUILD_JOBS the parallelism (default 2).
# Before anything else it refuses, in one sentence, what cannot work: an interpreter other
# than Debian's (Debian's pybind11 and python3-dev target /usr/bin/python3), missing
# Python headers, a missing `wheel` module. CLOUDSDIAL_ANY_PYTHON=1 skips the first check.
# pip hides a build's output unless -v: the build's progress also goes to the terminal.
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Not resolve(): a checkout whose bindings/ is a symlink builds its own tree.
HERE = Path(os.path.abspath(__file__)).parent
REPO = HERE.parent
DEBIAN_PYTHON = "/usr/bin/python3"
VENV_HINT = f"{DEBIAN_PYTHON} -m venv --system-site-packages DIR"


def fail(sentence: str) -> None:
    sys.exit(f"cloudsdial: {sentence}")


def debian_python_version() -> str:
    try:
        out = subprocess.run([DEBIAN_PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
        return f"Python {out.stdout.strip()}, " if out.returncode == 0 else ""
    except OSError:
        return ""


def check_interpreter() -> None:
    """Exits with one sentence when this interpreter cannot build or load the module."""
    here = "%d.%d" % sys.version_info[:2]
    if os.environ.get("CLOUDSDIAL_ANY_PYTHON") != "1" and os.path.realpath(sys.base_prefix) != "/usr":
        fail(f"only Debian's {DEBIAN_PYTHON} ({debian_python_version()}the interpreter Debian's pybind11 and "
             f"python3-dev build for) is supported, and this is {sys.executable} (Python {here} from "
             f"{sys.base_prefix}): make the venv with `{VENV_HINT}` (set CLOUDSDIAL_ANY_PYTHON=1 to try anyway).")
    include = sysconfig.get_path("include")
    if not (Path(include) / "Python.h").exists():
        fail(f"the headers of Python {here} are missing ({include}/Python.h): `apt-get install python3-dev` "
             f"(ci/install-deps.sh), or use {DEBIAN_PYTHON}, whose headers that package provides.")
    if importlib.util.find_spec("wheel") is None:
        fail("the Python module `wheel` is missing (setuptools needs it to build a wheel, else pip says "
             "\"invalid command 'bdist_wheel'\"): `apt-get install python3-wheel` (ci/install-deps.sh) and "
             f"make the venv with `{VENV_HINT}` so that it sees Debian's packages.")


class Progress:
    """Progress lines on the terminal (/dev/tty), which pip does not capture; nothing when
    there is no terminal. Everything also goes to stdout, which pip shows with -v."""

    def __init__(self):
        try:
            self.tty = open("/dev/tty", "w")
        except OSError:
            self.tty = None
        self.first = True

    def say(self, text: str) -> None:
        print(f"cloudsdial: {text}", flush=True)
        if self.tty:
            # pip's spinner holds the current line: start on a fresh one, then overwrite
            # the spinner character it leaves at the start of the next.
            self.tty.write(("\n" if self.first else "\r") + f"  cloudsdial: {text}\n")
            self.tty.flush()
            self.first = False

    def run(self, cmd: list) -> None:
        """Runs `cmd`, passing its output through and saying every tenth of the steps
        ninja ("[n/N]") or make ("[ p%]") report."""
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        said, total = -1, 0
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            steps = re.match(r"\[(\d+)/(\d+)\]", line)
            percent = re.match(r"\[\s*(\d+)%\]", line)
            if steps:
                done = int(steps[1])
                if int(steps[2]) != total:  # ninja re-counts after regenerating the build files
                    said, total = -1, int(steps[2])
                if done == 0:
                    continue
                pct, detail = 100 * done // total, f" ({done}/{total} steps)"
            elif percent:
                pct, detail = int(percent[1]), ""
            else:
                continue
            if pct // 10 > said:
                said = pct // 10
                self.say(f"C++ build {pct}%{detail}")
        if proc.wait() != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("CLOUDSDIAL_BUILD_DIR", REPO / "build" / "python"))
        jobs = os.environ.get("CLOUDSDIAL_BUILD_JOBS", "2")
        configure = ["cmake", "-S", str(REPO), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     "-DMAIL_BUILD_TESTS=OFF", "-DMAIL_BUILD_BENCH=OFF", f"-DPython_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        progress = Progress()
        progress.say(f"building the C++ extension with CMake in {build_dir} on {jobs} jobs "
                     f"(CLOUDSDIAL_BUILD_JOBS); the first build takes several minutes, "
                     f"`pip install -v` shows the compiler output")
        progress.run(configure)
        progress.run(["cmake", "--build", str(build_dir), "--target", "cloudsdial_core", "-j", jobs])
        built = next((build_dir / "bindings" / "python" / "cloudsdial").glob("_core*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


if __name__ == "__main__":  # as pip's setuptools backend runs it; a plain import is for the tests
    check_interpreter()
    setup(ext_modules=[Extension("cloudsdial._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
