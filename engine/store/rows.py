"""Row normalisation: validate values against the schema and turn them into WAL-ready columns."""

from __future__ import annotations

import json
import math
import operator
import re
from datetime import UTC, date, datetime
from typing import Any

from engine.store.common import RawJSON, StoreError, _EncodedJSON

_INT_RANGE = {"INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}


class _Bad(Exception):
    pass


def _finite(obj):
    """Copy of a JSON-able object without what JSON text cannot hold: non-finite floats become
    null, lone surrogates in strings become "?"."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return obj if _utf8_ok(obj) else obj.encode("utf-8", "replace").decode("utf-8")
    if isinstance(obj, dict):
        return {_finite(k) if isinstance(k, str) else k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


_LONE_SURROGATE = re.compile(r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}")


def _make_json_encoder():
    """``json.dumps(v, default=str, separators=(",", ":"))`` without its per-call set-up (~2x faster)."""
    slow = json.JSONEncoder(default=str, separators=(",", ":")).encode
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # the C encoder, when built
    encode_basestring_ascii = getattr(json.encoder, "encode_basestring_ascii", None)
    if c_make_encoder is None or encode_basestring_ascii is None:  # pragma: no cover
        return slow
    # markers=None skips the circular-reference check: a cycle ends in RecursionError instead
    fast = c_make_encoder(None, str, encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(v) -> str:
        return "".join(fast(v, 0))

    return encode


_json_encode = _make_json_encoder()


def _make_line_encoder():
    """``json.dumps(v, separators=(",", ":"))`` for WAL lines, built once (no per-call encoder set-up).

    A line holds only normalised scalars (JSON columns are already text), so it cannot contain a
    cycle: the circular-reference check is skipped. The output is byte-for-byte what ``json.dumps``
    writes (ASCII escapes, ``NaN``/``Infinity`` allowed)."""
    slow = json.JSONEncoder(separators=(",", ":")).encode
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # the C encoder, when built
    encode_basestring_ascii = getattr(json.encoder, "encode_basestring_ascii", None)
    if c_make_encoder is None or encode_basestring_ascii is None:  # pragma: no cover
        return slow

    def refuse(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    fast = c_make_encoder(None, refuse, encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(v) -> str:
        return "".join(fast(v, 0))

    return encode


_line_encode = _make_line_encoder()


def _json_text(v) -> str:
    t = type(v)
    if t is _EncodedJSON:
        return str(v)
    if t is RawJSON:
        try:
            json.loads(v)
        except ValueError as exc:
            raise _Bad(f"RawJSON is not valid JSON: {exc}") from None
        return str(v)
    try:
        s = _json_encode(v)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Bad(f"cannot encode as JSON: {exc}") from None
    if "NaN" in s or "Infinity" in s or ("\\ud" in s and _LONE_SURROGATE.search(s)):
        s = _json_encode(_finite(v))  # not valid JSON as it stands
    return s


def encode_json(value) -> RawJSON:
    """``value`` as the JSON text a JSON column would store, for a value appended many times
    (e.g. a run's options in every row of its execution): encoded once, not at every append."""
    try:
        return _EncodedJSON(_json_text(value))
    except _Bad as exc:
        raise StoreError(f"cannot store {_short(value)} as JSON: {exc}") from None


def _ts_text(v) -> str:
    """A timestamp as naive-UTC ISO text (aware values are converted to UTC)."""
    if type(v) is str:
        try:
            v = datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Bad("not an ISO timestamp (e.g. 2026-01-31T12:00:00)") from None
    elif not isinstance(v, datetime):
        if isinstance(v, date):
            v = datetime(v.year, v.month, v.day)
        else:
            raise _Bad("expected a datetime or an ISO string")
    elif type(v) is not datetime:  # e.g. pandas.Timestamp
        v = datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo)
    if v.tzinfo is not None:
        v = v.astimezone(UTC).replace(tzinfo=None)
    return v.isoformat()


def _utf8_ok(v: str) -> bool:
    try:
        v.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _coerce(kind: str, v):
    """Slow path for a value whose type is not the column's plain Python type."""
    if kind == "VARCHAR":
        if isinstance(v, (dict, list, tuple, set, bytes, bytearray)):
            raise _Bad("expected text (put structured values in a JSON column)")
        if isinstance(v, datetime):
            return v.isoformat()
        v = str(v)
        # lone surrogates (e.g. undecodable file names) cannot be stored as UTF-8: replace them
        return v if _utf8_ok(v) else v.encode("utf-8", "replace").decode("utf-8")
    if kind in _INT_RANGE:
        if isinstance(v, float):
            if not v.is_integer():
                raise _Bad("expected an integer, got a fractional number")
            v = int(v)
        else:
            try:
                v = int(operator.index(v))
            except TypeError:
                raise _Bad("expected an integer") from None
        lo, hi = _INT_RANGE[kind]
        if not lo <= v <= hi:
            raise _Bad(f"out of range for {kind}")
        return v
    if kind == "DOUBLE":
        if isinstance(v, (str, bytes, bool)):
            raise _Bad("expected a number")
        try:
            return float(v)
        except (TypeError, ValueError):
            raise _Bad("expected a number") from None
    if kind == "BOOLEAN":
        if getattr(getattr(v, "dtype", None), "kind", None) == "b" or (isinstance(v, int) and v in (0, 1)):
            return bool(v)
        raise _Bad("expected True or False")
    raise _Bad(f"unsupported column type {kind}")


_PLAIN = {"VARCHAR": (str,), "BIGINT": (int,), "INTEGER": (int,), "DOUBLE": (float, int), "BOOLEAN": (bool,)}


def _one(kind: str, v):
    if kind == "JSON":
        return _json_text(v)
    if kind == "TIMESTAMP":
        return v.isoformat() if type(v) is datetime and v.tzinfo is None else _ts_text(v)
    return _coerce(kind, v)


def _normalise_column(table: str, col: str, kind: str, vals: list) -> list:
    v = None
    try:
        if kind == "JSON":
            return [None if v is None else _json_text(v) for v in vals]
        if kind == "TIMESTAMP":
            return [
                None if v is None else (v.isoformat() if type(v) is datetime and v.tzinfo is None else _ts_text(v))
                for v in vals
            ]
        plain = _PLAIN[kind]
        rng = _INT_RANGE.get(kind)
        out = None
        for i, v in enumerate(vals):
            if v is None:
                continue
            if type(v) in plain and (rng is None or rng[0] <= v <= rng[1]):
                if kind != "VARCHAR" or v.isascii() or _utf8_ok(v):
                    continue
            if out is None:
                out = list(vals)
            out[i] = _coerce(kind, v)
        return vals if out is None else out
    except _Bad as exc:
        bad = v
        if kind in ("JSON", "TIMESTAMP"):  # comprehension variables are not visible here: find it
            for x in vals:
                if x is None:
                    continue
                try:
                    _one(kind, x)
                except _Bad:
                    bad = x
                    break
        raise StoreError(f"{table}.{col} ({kind}): cannot store {_short(bad)}: {exc}") from None


def _normalise_row(spec: dict[str, str], row: dict) -> dict[str, list] | None:
    """Fast path for one row: the columns as ``_normalise_column`` would return them (NULLs left
    out), or None when any value needs the general path (coercion, an error message, an unknown
    column). It never changes a value the general path would keep or convert differently."""
    cols: dict[str, Any] = {}
    for c, v in row.items():
        kind = spec.get(c)
        if kind is None:
            return None
        if v is None:
            continue
        t = type(v)
        if kind == "VARCHAR":
            if t is not str or not (v.isascii() or _utf8_ok(v)):
                return None
        elif kind == "JSON":
            try:
                v = _json_text(v)
            except _Bad:
                return None
        elif kind == "TIMESTAMP":
            if t is not datetime or v.tzinfo is not None:
                return None
            v = v.isoformat()
        elif kind == "DOUBLE":
            if t is not float and t is not int:
                return None
        elif kind == "BOOLEAN":
            if t is not bool:
                return None
        else:  # INTEGER, BIGINT
            rng = _INT_RANGE.get(kind)
            if t is not int or rng is None or not rng[0] <= v <= rng[1]:
                return None
        cols[c] = (v,)  # a tuple of scalars is untracked by the GC (pending rows are not scanned)
    return cols


def _short(v) -> str:
    try:
        text = repr(v)
    except (ValueError, RecursionError):  # an int of more than 4,300 digits, a too deeply nested value
        return f"<{type(v).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:77] + "..."
