"""File drop → quality check → notify: the file trigger puts {path, name, size, …} into context.file.

The rows stay in the file (every step's context is recorded): the checks read it themselves."""

from __future__ import annotations

import csv

from gallery_common import sample_path


def _rows(context: dict) -> list[dict]:
    with open(context["dropped_path"], newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_dropped_file(context: dict) -> dict:
    """Find the dropped CSV (context.file.path) and count its rows."""
    f = context.get("file") or {}
    path = sample_path(f.get("path") or "")
    if not path.is_file():
        raise FileNotFoundError(f"the dropped file {f.get('name') or path.name} is gone")
    ctx = {"dropped_path": str(path)}
    return {**ctx, "dropped_name": f.get("name") or path.name, "row_count": len(_rows(ctx))}


def check_not_empty(context: dict, min_rows: int = 1) -> dict:
    """At least ``min_rows`` rows."""
    return {"rows_ok": context["row_count"] >= int(context.get("min_rows", min_rows))}


def check_required_columns(context: dict) -> dict:
    """The columns named in ``required_columns`` are present and never empty."""
    need = context.get("required_columns") or []
    data = _rows(context)
    with open(context["dropped_path"], newline="", encoding="utf-8") as fh:
        have = set(next(csv.reader(fh), []))
    missing = [c for c in need if c not in have]
    empty = sum(1 for r in data for c in need if c in have and not (r.get(c) or "").strip())
    return {"columns_ok": not missing and empty == 0, "missing_columns": missing, "empty_cells": empty}


def accept_file(context: dict) -> dict:
    """Accept the file."""
    return {"accepted": True, "verdict": f"{context['dropped_name']}: {context['row_count']} rows accepted"}


def reject_file(context: dict) -> dict:
    """Reject the file with the reasons."""
    why = [k for k in ("rows_ok", "columns_ok") if context.get(k) is False]
    return {
        "accepted": False,
        "verdict": f"{context['dropped_name']} rejected: {', '.join(why)} failed "
        f"(missing {context.get('missing_columns')}, {context.get('empty_cells')} empty cells)",
    }
