"""Paths: sub-workflow and data file paths resolve inside allowed folders only, and errors name the
path, never a file's contents (issue 13: ``../../etc/passwd`` and ``/proc/self/environ``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.runner import RunOptions
from engine.sandbox import resolve_allowed_file
from engine.workflow_file import load_workflow

ROOT = Path(__file__).resolve().parents[2]
ESCAPES = [
    "../../../../../../../../etc/passwd",
    "/etc/passwd",
    "/proc/self/environ",
    "../../../../../../../../proc/self/environ",
]


def _parent(tmp_path: Path, ref: str) -> Path:
    wf = tmp_path / "parent.toml"
    wf.write_text(
        f'name = "parent"\ndsl = "start->call; call->end;"\n[states.call]\naction = "workflow"\nworkflow = "{ref}"\n'
    )
    return wf


@pytest.mark.parametrize("ref", ESCAPES)
def test_a_sub_workflow_outside_the_allowed_folders_fails_naming_the_path_only(inline_engine, tmp_path, ref):
    res = inline_engine.run(load_workflow(_parent(tmp_path, ref)), {}, RunOptions(auto_recovery=False))
    assert res.status == "failed"
    assert ref in res.error and "outside the allowed folders" in res.error
    secrets = [line.split(":")[0] + ":" for line in Path("/etc/passwd").read_text().splitlines()[:3]]
    assert not any(s in res.error for s in secrets), res.error  # root:x:0:0… never shown
    assert "PATH=" not in res.error and os.environ.get("HOME", "/root") not in res.error.replace(ref, "")


def test_a_sub_workflow_next_to_the_caller_still_runs(inline_engine, tmp_path):
    (tmp_path / "child.toml").write_text('name = "child"\ndsl = "start->end;"\n')
    res = inline_engine.run(load_workflow(_parent(tmp_path, "child.toml")), {})
    assert res.status == "completed", res.error


def test_a_workflow_without_a_file_gets_no_folder_of_its_own(tmp_path, monkeypatch):
    """A workflow sent through the API has no file: '.' (the service's working directory) is not its folder."""
    monkeypatch.setenv("WORKBENCH_DATA_DIRS", str(tmp_path / "nothing"))
    monkeypatch.chdir(ROOT)
    with pytest.raises(FileNotFoundError, match="'README.md' not found"):  # the working directory is no base
        resolve_allowed_file("README.md", None)
    with pytest.raises(PermissionError, match="outside the allowed folders"):
        resolve_allowed_file("../README.md", None)
    assert resolve_allowed_file("samples/sales.csv", None) == ROOT / "data" / "samples" / "sales.csv"


def test_an_admin_can_add_a_data_folder(tmp_path, monkeypatch):
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "x.csv").write_text("a\n1\n")
    monkeypatch.setenv("WORKBENCH_DATA_DIRS", str(tmp_path / "nothing"))
    with pytest.raises(PermissionError):
        resolve_allowed_file(str(outside / "x.csv"), None)
    monkeypatch.setenv("WORKBENCH_DATA_DIRS", str(outside))
    assert resolve_allowed_file(str(outside / "x.csv"), None) == outside / "x.csv"


def test_a_symlink_leading_out_of_an_allowed_folder_is_refused(tmp_path):
    (tmp_path / "link.csv").symlink_to("/etc/passwd")
    with pytest.raises(PermissionError, match="link.csv"):
        resolve_allowed_file("link.csv", str(tmp_path))
