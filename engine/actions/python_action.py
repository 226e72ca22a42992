"""``python`` action: ``function(context: dict, **params) -> dict | None``."""
from __future__ import annotations

import importlib
from typing import Any, Callable

_CACHE: dict[str, Callable] = {}


class FunctionImportError(ImportError):
    pass


def resolve_function(ref: str) -> Callable:
    """Import ``package.module:function``; a clear error says what is missing."""
    fn = _CACHE.get(ref)
    if fn is not None:
        return fn
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise FunctionImportError(
            f"cannot import module '{module_name}' for function '{ref}': {exc}. Put it on the Python path "
            "(data/functions/, WORKBENCH_PYTHONPATH, or settings.python_path in the workflow file)") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise FunctionImportError(f"module '{module_name}' has no function '{attr}'")
    _CACHE[ref] = fn
    return fn


def run_python(binding: dict, ctx, meta: dict) -> Any:
    fn = resolve_function(binding["function"])
    return fn(ctx, **(binding.get("params") or {}))
