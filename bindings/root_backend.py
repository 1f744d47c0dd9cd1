# PEP 517 build backend of the repository root's pyproject.toml: builds the project of
# this directory (bindings/pyproject.toml, setup.py) with setuptools, so that
# `pip install .` at the root and `pip install ./bindings` install the same package.
# setuptools reads the project from the working directory, so the hooks run here; pip
# passes them absolute paths (wheel and metadata directories), which a chdir leaves valid.
import os

os.chdir(os.path.dirname(os.path.abspath(__file__)))

from setuptools.build_meta import *  # noqa: E402,F401,F403 -- the PEP 517 hooks
