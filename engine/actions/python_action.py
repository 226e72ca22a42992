"""``python`` action: ``function(context: dict, **params) -> dict | None``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_CACHE: dict[str, Callable] = {}


class FunctionImportError(ImportError):
    pass


def resolve_function(ref: str) -> Callable:
    """Import ``package.module:function`` from the allowed function folders (engine.sandbox);
    a clear error says what is missing or refused. Standard-library modules are never imported."""
    fn = _CACHE.get(ref)
    if fn is not None:
        return fn
    from engine.sandbox import SandboxError, function_problem

    problem = function_problem(ref)
    if problem and problem[0] == "error":
        raise SandboxError(problem[1])
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise FunctionImportError(
            f"cannot import module '{module_name}' for function '{ref}': {exc}. Put it on the Python path "
            "(data/functions/ or a folder listed in WORKBENCH_FUNCTION_DIRS; see docs/security.md)"
        ) from None
    from engine.sandbox import check_loaded_function

    check_loaded_function(ref, module)  # e.g. os:system, a stdlib module shadowing one in data/functions
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise FunctionImportError(f"module '{module_name}' has no function '{attr}'")
    _CACHE[ref] = fn
    return fn


def run_python(binding: dict, ctx, meta: dict) -> Any:
    """Call the state's function; its result is checked to be storable JSON data.

    ``SystemExit``/``KeyboardInterrupt`` (e.g. ``function = "sys:exit"``) and other non-``Exception``
    errors from user code become a :class:`~engine.outcomes.StateExited` failure of the state: they
    must never end the worker process or the driver thread running it inline.
    """
    from engine.outcomes import StateExited, check_storable
    from engine.secrets import resolve

    fn = resolve_function(binding["function"])
    params = resolve(binding.get("params") or {})  # {secret:NAME} values, resolved on the worker
    try:
        result = fn(ctx, **params)
    except Exception:
        raise
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, GeneratorExit raised by user code
        raise StateExited(
            f"'{binding['function']}' raised {type(exc).__name__}"
            + (f"({exc})" if str(exc) else "")
            + ": a state cannot exit its process; "
            "raise an exception or return a result instead"
        ) from None
    if result is not None:
        check_storable(result, f"the result of '{binding['function']}'")
    return result
