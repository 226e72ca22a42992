"""Fill ``{name}`` / ``{order.total}`` placeholders from the context — no attribute access, no eval.

With ``secrets=True`` a ``{secret:NAME}`` written in the template is replaced by the secret's value
(engine.secrets) in the same single pass: a context value that happens to contain ``{secret:NAME}``
is inserted as text and never resolved, so run inputs cannot pull secrets into a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_PLACEHOLDER = re.compile(
    r"\{\{|\}\}|\{secret:([A-Za-z_][A-Za-z0-9_]*)\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}"
)


def fill(
    template: str,
    context: Mapping[str, Any],
    *,
    secrets: bool = False,
    secret_format: Callable[[str], str] | None = None,
) -> str:
    """Replace placeholders with context values (dicts/lists as JSON). Missing names raise KeyError.

    ``secrets``: also resolve ``{secret:NAME}`` (``secret_format`` escapes the value, e.g. for JSON text);
    without it such a reference is left as written.
    """

    def sub(m: re.Match) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        if m.group(1) is not None:
            if not secrets:
                return m.group(0)
            from engine.secrets import get_secret

            secret = get_secret(m.group(1))
            return secret_format(secret) if secret_format else secret
        value: Any = context
        for part in m.group(2).split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(f"template needs '{m.group(2)}' but the context has no such value")
            value = value[part]
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)
        return str(value)

    return _PLACEHOLDER.sub(sub, template)
