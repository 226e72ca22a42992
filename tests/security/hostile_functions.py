"""Python-state functions that return hostile values (issue 13): used by test_hostile_values.py."""

from __future__ import annotations


class Opaque:
    """An object with no JSON form."""

    def __repr__(self) -> str:
        return "<Opaque>"


def huge_text(context, megabytes: int = 100, kilobytes: int = 0):
    """Return a string of ``megabytes`` MB plus ``kilobytes`` KB under the key ``blob``."""
    return {"blob": "x" * (megabytes * 1_000_000 + kilobytes * 1_000)}


def a_set(context):
    """Return a set inside the result."""
    return {"tags": {"a", "b"}}


def an_object(context):
    """Return an instance of a custom class inside the result."""
    return {"thing": Opaque()}


def some_bytes(context):
    """Return raw bytes inside the result."""
    return {"raw": b"\x00\xff binary"}


def small(context):
    """Return a small, ordinary result."""
    return {"ok": 1}
