"""Helpers shared by the gallery templates' functions: read a shipped sample CSV, find one row."""

from __future__ import annotations

import csv
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample_path(name: str) -> Path:
    """A CSV under data/samples, or any path given (relative paths are tried from the repository root)."""
    p = Path(name)
    if p.is_absolute():
        return p
    if (SAMPLES / p).exists():
        return SAMPLES / p
    return SAMPLES.parent.parent / p


def rows(name: str) -> list[dict]:
    """Every row of a CSV as a dict of strings."""
    with open(sample_path(name), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def find(name: str, key: str, value) -> dict:
    """The row of ``name`` whose ``key`` equals ``value``; KeyError naming both when there is none."""
    hit = next((r for r in rows(name) if r[key] == str(value)), None)
    if hit is None:
        raise KeyError(f"no row with {key} = {value!r} in {name}")
    return hit


def keep_message(context: dict, text: str) -> dict:
    """Record a message as sent (offline templates 'send' by keeping the rendered text in the context)."""
    return {"messages_sent": [*context.get("messages_sent", []), text]}
