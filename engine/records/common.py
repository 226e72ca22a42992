"""The small shared rules every reader and writer uses: the clock, the slug rule, JSON decoding.

Answers "what time is it (in UTC)", "how does the store keep a time", "what id part does a name
give" and "what is this JSON column's value as Python" for anyone: the store, the run engine,
automation, the service, the app. JSON columns are decoded by one rule driven by
:data:`engine.schema.JSON_COLUMNS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from engine.schema import JSON_COLUMNS


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (the store keeps it as naive UTC: see :func:`store_time`)."""
    return datetime.now(UTC)


def store_time(value: datetime) -> datetime:
    """``value`` as the store keeps and returns TIMESTAMP columns: naive, in UTC.

    Use it to compare a time with values read from the store (naive and aware datetimes do not compare).
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


SLUG_MAX = 40


def slugify(name: str, max_len: int = SLUG_MAX) -> str:
    """A lowercase id part from a name: runs of other characters become '-'; 'workflow' when empty."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")
    return slug[:max_len].rstrip("-") or "workflow"


def loads(value: Any, default: Any = None) -> Any:
    """A JSON column's value as Python: text is parsed, decoded values pass, ``None``/bad text -> ``default``."""
    if value is None:
        return default
    if isinstance(value, (dict, list, int, float, bool)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def decode(table: str, row: dict, *, defaults: dict[str, Any] | None = None) -> dict:
    """A copy of ``row`` with every JSON column of ``table`` (:data:`engine.schema.JSON_COLUMNS`) decoded.

    Only the columns present in the row are touched; ``defaults`` gives the value for a NULL or
    unreadable column (``None`` otherwise).
    """
    cols = JSON_COLUMNS[table]
    defaults = defaults or {}
    out = dict(row)
    for k in cols.intersection(out):
        out[k] = loads(out[k], defaults.get(k))
    return out


def decode_all(table: str, rows: Iterable[dict], *, defaults: dict[str, Any] | None = None) -> list[dict]:
    """:func:`decode` for every row."""
    return [decode(table, r, defaults=defaults) for r in rows]
