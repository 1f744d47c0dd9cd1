# The doc test: every command block of README.md and docs/*.md marked runnable is run, so
# the examples stay true. The marker is an HTML comment line (invisible on GitHub) right
# before a ```sh (or ```bash / ```shell) fence:
#
#   <!-- runnable -->
#   ```sh
#   cloudsdial sim --scenario smtp-basic --seed 1
#   ```
#
# Each block runs with `bash -e -o pipefail` in a fresh temporary directory (also $HOME),
# stdin from /dev/null, with `cloudsdial` on PATH resolving to $CLOUDSDIAL_BIN, and
# `./build/<preset>/app/cloudsdial` or `build/<preset>/app/cloudsdial` rewritten to
# `cloudsdial`. A block fails on a non-zero exit, a sanitizer report or after
# BLOCK_TIMEOUT_S; the failure names FILE:LINE of its fence and shows the output. Only
# mark blocks that are safe in CI: no `make`, nothing left running, loopback only, bounded
# time. The test also fails when no block is marked at all, or when a marker is not
# followed by a shell fence, so it cannot pass vacuously.
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, find_binary

BLOCK_TIMEOUT_S = 120
MARKER = re.compile(r"^\s*<!--\s*runnable\s*-->\s*$")
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,})\s*(?P<lang>[A-Za-z0-9_+-]*)\s*$")
SHELL_LANGS = ("sh", "bash", "shell")
BINARY_PATH = re.compile(r"(?<![\w/.-])(?:\./)?build/[A-Za-z0-9_-]+/app/cloudsdial\b")
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str

    @property
    def where(self):
        return f"{self.path.relative_to(REPO)}:{self.line}"


def doc_files():
    return [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))


def scan(path: Path):
    """Returns (blocks, problems) of one Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, problems = [], []
    i = 0
    while i < len(lines):
        if not MARKER.match(lines[i]):
            i += 1
            continue
        where = f"{path.relative_to(REPO)}:{i + 1}"
        m = FENCE_OPEN.match(lines[i + 1]) if i + 1 < len(lines) else None
        if not m or m.group("lang") not in SHELL_LANGS:
            problems.append(f"{where}: <!-- runnable --> must be followed at once by a ```sh block")
            i += 1
            continue
        fence, indent = m.group("fence"), len(m.group("indent"))
        body, j = [], i + 2
        while j < len(lines) and not re.match(r"^\s*" + fence + r"\s*$", lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        if j == len(lines):
            problems.append(f"{where}: the marked block is never closed")
        elif not "".join(body).strip():
            problems.append(f"{where}: the marked block is empty")
        else:
            blocks.append(Block(path, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return blocks, problems


def all_blocks():
    blocks, problems = [], []
    for path in doc_files():
        b, p = scan(path)
        blocks += b
        problems += p
    return blocks, problems


BLOCKS, PROBLEMS = all_blocks()


def test_runnable_blocks_exist_and_are_well_formed():
    assert not PROBLEMS, "\n".join(PROBLEMS)
    assert BLOCKS, "no <!-- runnable --> block in README.md or docs/*.md: the doc test would test nothing"


def test_binary_paths_are_rewritten():
    code = "./build/release/app/cloudsdial help\nbuild/asan/app/cloudsdial sim --list | head\nx/build/release/app/cloudsdial\n"
    assert BINARY_PATH.sub("cloudsdial", code) == "cloudsdial help\ncloudsdial sim --list | head\nx/build/release/app/cloudsdial\n"


def run_block(block: Block, tmp_path: Path, timeout=BLOCK_TIMEOUT_S):
    """Runs one block; returns None when it passed, else the failure text (FILE:LINE first)."""
    binary = os.path.abspath(find_binary())
    shims = tmp_path / "bin"
    shims.mkdir(parents=True)
    shim = shims / "cloudsdial"
    shim.write_text(f'#!/bin/sh\nexec "{binary}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    script = tmp_path / "block.sh"
    script.write_text(BINARY_PATH.sub("cloudsdial", block.code), encoding="utf-8")
    env = dict(os.environ, PATH=f"{shims}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", HOME=str(work),
               CLOUDSDIAL_BIN=binary)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", str(script)], cwd=work, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        why = f"exit code {proc.returncode}" if proc.returncode != 0 else None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole block: bash and whatever it started
        out, _ = proc.communicate()
        why = f"still running after {timeout} s (killed)"
    if why is None:
        try:
            os.killpg(proc.pid, 0)  # anyone left in the block's process group?
            os.killpg(proc.pid, signal.SIGKILL)
            why = "it left a process running (killed)"
        except ProcessLookupError:
            pass
    text = out.decode("utf-8", "replace")
    if why is None and any(s in text for s in SANITIZER):
        why = "sanitizer report"
    if why is None:
        return None
    return f"{block.where}: runnable block failed: {why}\n--- block\n{block.code}--- output (last 8000 chars)\n{text[-8000:]}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_runnable_block(block, tmp_path):
    failure = run_block(block, tmp_path)
    if failure:
        pytest.fail(failure, pytrace=False)


# ---------------------------------------------------------------------------- the harness itself

def test_harness_reports_failures_with_file_and_line(tmp_path):
    doc = REPO / "docs" / "EXAMPLE.md"  # only named, never written
    cases = {
        "cloudsdial sim --list\nfalse\necho unreachable\n": "exit code 1",
        "cloudsdial no-such-verb\n": "exit code 2",  # usage error
        "true | cloudsdial no-such-verb | cat\n": "exit code 2",  # pipefail
        "sleep 30\n": "still running after 1 s",
        "sleep 30 >/dev/null 2>&1 &\n": "it left a process running",
    }
    for i, (code, why) in enumerate(cases.items()):
        failure = run_block(Block(doc, 7, code), tmp_path / str(i), timeout=1 if "sleep" in code and "&" not in code else 60)
        assert failure is not None and failure.startswith(f"docs/EXAMPLE.md:7: runnable block failed: {why}"), failure
    assert run_block(Block(doc, 7, "cloudsdial --version | grep -q cloudsdial\ntest \"$PWD\" = \"$HOME\"\n"),
                     tmp_path / "ok") is None


def test_scanner_rejects_markers_without_a_shell_block(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    doc = tmp_path / "x.md"
    doc.write_text("<!-- runnable -->\n```toml\na = 1\n```\n\n<!-- runnable -->\ntext\n\n"
                   "<!-- runnable -->\n```sh\n```\n\n  <!-- runnable -->\n  ```bash\n  echo indented\n  ```\n"
                   "<!-- runnable -->\n```sh\nnever closed\n", encoding="utf-8")
    blocks, problems = scan(doc)
    assert [(b.line, b.code) for b in blocks] == [(14, "echo indented\n")]
    assert [p.split(": ")[0] for p in problems] == ["x.md:1", "x.md:6", "x.md:9", "x.md:17"], problems
