# setuptools glue: builds cloudsdial._core with the project's own CMake build (the
# repository root is this directory's parent) and puts the .so into the package.
# CLOUDSDIAL_BUILD_DIR picks the CMake build directory (default: <repo>/build/python,
# reused between installs); CLOUDSDIAL_BUILD_JOBS the parallelism (default 2).
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Not resolve(): a checkout whose bindings/ is a symlink builds its own tree.
HERE = Path(os.path.abspath(__file__)).parent
REPO = HERE.parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("CLOUDSDIAL_BUILD_DIR", REPO / "build" / "python"))
        jobs = os.environ.get("CLOUDSDIAL_BUILD_JOBS", "2")
        configure = ["cmake", "-S", str(REPO), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     "-DMAIL_BUILD_TESTS=OFF", "-DMAIL_BUILD_BENCH=OFF", f"-DPython_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        subprocess.check_call(configure)
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "cloudsdial_core", "-j", jobs])
        built = next((build_dir / "bindings" / "python" / "cloudsdial").glob("_core*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(ext_modules=[Extension("cloudsdial._core", sources=[])], cmdclass={"build_ext": CMakeBuild})
