"""The workflow library: versioned workflow definitions kept in the record store.

Each save appends a new version row to ``workflows`` (keyed by ``workflow_id`` + ``version``) and one
row per state to ``workflow_states``. Nothing is deleted: archiving appends the same version rows
with ``status = 'archived'`` (the ``workflows`` view shows the newest row per version), and restoring
appends them again with the status they had before.

The code lives in the :mod:`engine.workflow_library` package (one module per concern: names, saving,
reading, status, diff); this module re-exports every public name, so ``from engine.library import ...``
and ``library.X`` keep working.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.store import Store
from engine.workflow_file import load_workflow
from engine.workflow_library.base import (
    STATUSES,
    LibraryError,
    WorkflowNotFoundError,
    changes,
    slugify,
)
from engine.workflow_library.diff import canonical_text, diff_versions
from engine.workflow_library.names import default_version, workflow_for_name, workflow_ids_named
from engine.workflow_library.reading import get_states, get_workflow, list_versions, list_workflows
from engine.workflow_library.saving import ensure_saved, save_workflow
from engine.workflow_library.status import archive_workflow, restore_workflow, set_status

__all__ = [
    "STATUSES",
    "LibraryError",
    "WorkflowNotFoundError",
    "archive_workflow",
    "canonical_text",
    "changes",
    "default_version",
    "diff_versions",
    "ensure_saved",
    "get_states",
    "get_workflow",
    "import_workflow_file",
    "list_versions",
    "list_workflows",
    "restore_workflow",
    "save_workflow",
    "set_status",
    "slugify",
    "workflow_for_name",
    "workflow_ids_named",
]


def import_workflow_file(store: Store, path: str | os.PathLike, status: str = "active") -> tuple[str, int]:
    """Import a ``.toml``/``.dsl`` file. Re-importing an unchanged file returns the existing version;
    a changed file with the name of an existing workflow becomes a new version of it."""
    spec = load_workflow(path)
    note = f"imported from {Path(path).name}"
    return ensure_saved(store, spec, new_note=note, changed_note=note, status=status)
