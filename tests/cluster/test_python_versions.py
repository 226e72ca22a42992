"""Python 3.11-3.13: requires-python, the Makefile's choice of interpreter, and the constraints file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_requires_python_is_3_11_to_3_13():
    spec = SpecifierSet(_project()["requires-python"])
    assert all(v in spec for v in ("3.11.7", "3.12.0", "3.13.5"))
    assert not any(v in spec for v in ("3.10.14", "3.14.0"))


def test_constraints_pin_every_dependency_at_the_versions_pyproject_asks_for():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not a pin: {line}"
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version.strip()
    for dep in _project()["dependencies"]:
        m = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)", dep)
        name, spec = re.sub(r"[-_.]+", "-", m.group(1).lower()), m.group(3)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert pins[name] in SpecifierSet(spec), f"{name}=={pins[name]} does not satisfy {spec}"


def _make(*args: str, path: str) -> subprocess.CompletedProcess:
    # a `make PY=… test` passes PY to sub-makes through MAKEFLAGS: this make must not inherit it
    env = {k: v for k, v in os.environ.items() if k not in ("PY", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PATH"] = path
    return subprocess.run([MAKE, "-s", "-C", str(ROOT), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(MAKE is None, reason="no make")
def test_make_picks_a_supported_interpreter_or_the_one_given(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3.13"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    (bin_dir / "echo").symlink_to(shutil.which("echo"))  # make runs `echo` from PATH
    assert _make("which-python", path=str(bin_dir)).stdout.strip() == str(fake)
    assert (
        _make("which-python", "PY=/opt/py/bin/python3.12", path=str(bin_dir)).stdout.strip() == "/opt/py/bin/python3.12"
    )
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "echo").symlink_to(shutil.which("echo"))
    none = _make("which-python", path=str(tmp_path / "empty"))
    assert none.returncode != 0 and "PY=/path/to/python" in none.stderr


def test_make_install_uses_the_constraints_file():
    text = (ROOT / "Makefile").read_text()
    install = re.search(r"^\$\(STAMP\):.*?(?=^\S)", text, re.S | re.M).group(0)
    assert "constraints.txt" in install.splitlines()[0]  # a new constraints file reinstalls
    assert "--constraint constraints.txt" in install


@pytest.mark.skipif(MAKE is None or not (ROOT / ".venv" / "bin" / "python").exists(), reason="no make or no .venv")
def test_make_refuses_a_py_that_differs_from_the_existing_venv(tmp_path):
    """`make PY=python3.13 test` over a .venv made with 3.11 would test 3.11: it stops and says so."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    other = tmp_path / "python9.9"
    other.write_text("#!/bin/sh\necho 9.9\n")  # answers the version question like another Python would
    other.chmod(0o755)
    refused = _make("check-python", f"PY={other}", path=path)
    assert refused.returncode != 0 and "make clean" in refused.stderr and "9.9" in refused.stderr
    same = _make("check-python", f"PY={ROOT / '.venv' / 'bin' / 'python'}", path=path)
    assert same.returncode == 0, same.stderr
