"""Reading a run's initial context typed by a user (CLI ``--context``, the app's Run page, the API).

Every bad input ends in :class:`ContextInputError` with a message that says what is wrong and
where, never in a traceback: invalid JSON, integers beyond Python's 4,300-digit conversion limit,
nesting deeper than :data:`MAX_DEPTH`, ``NaN``/``Infinity`` (not JSON, and not storable),
strings that are not valid Unicode (lone surrogates), texts larger than :data:`MAX_BYTES`, and
``@file`` paths that cannot be read as UTF-8 text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from engine.errors import WorkbenchError

MAX_BYTES = 16_000_000  # a context is data for conditions and actions, not a dataset
MAX_DEPTH = 100  # nesting of objects/lists inside the context


class ContextInputError(WorkbenchError, ValueError):
    """The initial context given by a user cannot be used; the message says why."""


def _refuse_constant(name: str):
    raise ContextInputError(f'{name} is not a JSON number; write a number or a string such as "{name}"')


def parse_context_text(text: str, *, what: str = "the context") -> dict:
    """Parse JSON text into a context dict; raises :class:`ContextInputError` for any bad input."""
    if not isinstance(text, str):
        raise ContextInputError(f"{what} must be JSON text, got {type(text).__name__}")
    text = text.strip()
    if not text:
        return {}
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise ContextInputError(
            f"{what} is {size:,} bytes; the limit is {MAX_BYTES:,} bytes "
            "(put large data in a file and pass its path instead)"
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ContextInputError as exc:
        raise ContextInputError(f"{what} is not valid: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ContextInputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ContextInputError(f"{what} is nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # int(): "Exceeds the limit (4300 digits) for integer string conversion"
        if "digits" in str(exc):
            raise ContextInputError(
                f"{what} holds an integer with too many digits (the limit is 4,300 digits); write it as a string"
            ) from None
        raise ContextInputError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ContextInputError(f'{what} must be a JSON object, e.g. {{"order_id": 3}}')
    check_context_value(value, what=what)
    return value


def read_context_argument(raw: str | None, *, what: str = "--context") -> dict:
    """``--context`` as given on the command line: JSON text, or ``@path`` to a JSON file."""
    if not raw:
        return {}
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise ContextInputError(f"context file {path} is {size:,} bytes; the limit is {MAX_BYTES:,} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise ContextInputError(f"cannot read context file {path}: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ContextInputError(
                f"context file {path} is not UTF-8 text (byte {exc.start:,} is not valid)"
            ) from None
        return parse_context_text(text, what=f"context file {path}")
    return parse_context_text(raw, what=what)


def check_context_value(value: Any, *, what: str = "the context") -> None:
    """Refuse values a run could not store or compare: too deep, cyclic, NaN/Infinity, lone surrogates.

    Iterative (no recursion), linear in the size of ``value``.
    """
    stack: list[tuple[Any, int, str] | int] = [(value, 0, "")]
    active: set[int] = set()  # containers on the current path (a repeat means a cycle)
    done: set[int] = set()  # containers already checked (shared references are checked once)
    while stack:
        entry = stack.pop()
        if isinstance(entry, int):  # leaving a container
            active.discard(entry)
            done.add(entry)
            continue
        item, depth, where = entry
        at = f" (at {where if len(where) <= 80 else where[:79] + '…'})" if where else ""
        if isinstance(item, (dict, list, tuple)):
            if id(item) in active:
                raise ContextInputError(f"{what} refers to itself{at}: a context must be plain JSON data")
            if id(item) in done:
                continue
            if depth >= MAX_DEPTH:
                raise ContextInputError(f"{what} is nested too deeply{at}: the limit is {MAX_DEPTH} levels")
            active.add(id(item))
            stack.append(id(item))
            if isinstance(item, dict):
                for k, v in item.items():
                    if not isinstance(k, str):
                        raise ContextInputError(f"{what} has a key that is not a string{at}")
                    _check_text(k, what, where)
                    stack.append((v, depth + 1, f"{where}.{k[:40]}" if where else k[:40]))
            else:
                for i, v in enumerate(item):
                    stack.append((v, depth + 1, f"{where}[{i}]"))
        elif isinstance(item, str):
            _check_text(item, what, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ContextInputError(f"{what} holds {item}{at}, which is not a JSON number")
        elif (
            isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > 14_000 and not _fits_text(item)
        ):
            raise ContextInputError(
                f"{what} holds an integer with too many digits{at} (the limit is 4,300 digits); write it as a string"
            )


def _fits_text(number: int) -> bool:
    try:
        str(number)
    except ValueError:
        return False
    return True


def _check_text(text: str, what: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        at = f" (at {where if len(where) <= 80 else where[:79] + '…'})" if where else ""
        raise ContextInputError(f"{what} holds a string that is not valid Unicode (a lone surrogate){at}") from None
