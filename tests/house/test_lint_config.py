"""The lint set-up of `make lint` (pyproject [tool.ruff], [tool.mypy]) catches real defects."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DEFECTS = """\
import os


def add(item, bucket=[]):
    bucket.append(item)
    return bucket


def run(text):
    return eval(text)


def callbacks():
    return [lambda: i for i in range(3)]


def broken():
    return undefined_name
"""


def _ruff_codes(tmp_path: Path) -> set[str]:
    src = tmp_path / "engine_like.py"
    src.write_text(DEFECTS)
    res = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--output-format",
            "concise",
            "--no-cache",
            str(src),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    return {line.split(" ")[1] for line in res.stdout.splitlines() if line.startswith(str(src))}


def test_ruff_with_the_project_rules_reports_real_defects(tmp_path):
    codes = _ruff_codes(tmp_path)
    # unused import, mutable default, eval, loop variable captured late, undefined name
    assert {"F401", "B006", "S307", "B023", "F821"} <= codes, codes


def test_mypy_baseline_groups_modules_by_their_error_codes():
    spec = importlib.util.spec_from_file_location("mypy_baseline", ROOT / ".ci" / "mypy_baseline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.baseline_blocks(
        "engine/a.py:3: error: Incompatible types in assignment  [assignment]\n"
        'engine/a.py:9: error: Item "None" of "X | None" has no attribute "y"  [union-attr]\n'
        "engine/b/__init__.py:1: error: Incompatible types in assignment  [assignment]\n"
        "engine/c.py:5: error: Incompatible types in assignment  [assignment]\n"
        "engine/c.py:5: note: a note is not an error\n"
        "Found 4 errors in 3 files (checked 3 source files)\n"
    )
    assert out == (
        "[[tool.mypy.overrides]]  # engine.a: 2\n"
        'module = ["engine.a"]\n'
        'disable_error_code = ["assignment", "union-attr"]\n\n'
        "[[tool.mypy.overrides]]  # engine.b: 1, engine.c: 1\n"
        'module = ["engine.b", "engine.c"]\n'
        'disable_error_code = ["assignment"]\n\n'
    )
    assert mod.BEGIN in (ROOT / "pyproject.toml").read_text()
