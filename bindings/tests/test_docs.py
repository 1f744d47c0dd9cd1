# docs/PYTHON.md's tutorial runs as a test: every ```python block of the "Tutorial"
# section is executed in order in one namespace; the pytest section's examples are
# compiled (their fixtures are exercised by test_plugin.py).
import re

from conftest import REPO

DOC = REPO / "docs" / "PYTHON.md"


def blocks(section_start, section_end):
    text = DOC.read_text(encoding="utf-8")
    start = text.index(section_start)
    end = text.index(section_end, start)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_tutorial_runs(capsys):
    code = blocks("## Tutorial", "## pytest")
    assert len(code) >= 7
    namespace = {"__name__": "tutorial"}
    for i, block in enumerate(code, 1):
        exec(compile(block, f"{DOC}:tutorial block {i}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "acked 250" in out


def test_pytest_examples_compile():
    code = blocks("## pytest", "## Errors")
    assert code, "the pytest section has no python block left to check"
    for block in code:
        compile(block, str(DOC), "exec")
