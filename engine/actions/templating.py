"""Fill ``{name}`` / ``{order.total}`` placeholders from the context — no attribute access, no eval."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


def fill(template: str, context: Mapping[str, Any]) -> str:
    """Replace placeholders with context values (dicts/lists as JSON). Missing names raise KeyError."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        value: Any = context
        for part in m.group(1).split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(f"template needs '{m.group(1)}' but the context has no such value")
            value = value[part]
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)
        return str(value)

    return _PLACEHOLDER.sub(sub, template)
