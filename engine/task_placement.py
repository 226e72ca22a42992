"""Where on a Ray cluster a state may run: its resources and a node label selector (issue 17).

A state's binding may ask for ``num_cpus``, ``num_gpus``, ``memory`` (bytes, or a size such as
``"512MB"`` / ``"2GiB"``), custom ``resources`` (``{"node_b": 1}``) and ``node``, a label selector
(``{"ray.io/node-id": "…"}``, ``{"zone": "in(a,b)"}``, ``{"gpu": "!none"}``) — Ray task options. They are
checked here, when the workflow is loaded (Ray would refuse them only at submission), and turned into
the options the Ray executor passes with the task (:func:`ray_options`). States running inline ignore
them: a state with any placement always runs on Ray (``requires_ray``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEMENT_FIELDS = ("num_cpus", "num_gpus", "memory", "resources", "node")

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*", re.IGNORECASE)
_RESERVED_RESOURCES = {"CPU", "GPU", "memory", "object_store_memory"}
# Kubernetes-style label keys, as Ray checks them: optional DNS prefix "/" name (63 chars)
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_SELECTOR_VALUE = re.compile(rf"!?(?:{_LABEL_VALUE}|(?:in|!in)\(\s*{_LABEL_VALUE}(?:\s*,\s*{_LABEL_VALUE})*\s*\))")


def parse_memory(value: Any) -> int | None:
    """Bytes from an int or a size text (``"512MB"``, ``"2GiB"``, ``"1.5g"``); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("memory must be a number of bytes or a size such as '512MB'")
    if isinstance(value, (int, float)):
        n = int(value)
    else:
        m = _SIZE.fullmatch(str(value))
        if not m:
            raise ValueError(f"memory {value!r} is not a size (use bytes or e.g. '512MB', '2GiB')")
        unit = (m.group(2) or "").lower()
        base = 1024 if "i" in unit else 1000
        power = {"": 0, "b": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit[:1]]
        n = int(float(m.group(1)) * base**power)
    if n < 1:
        raise ValueError("memory must be at least 1 byte")
    return n


def check_resources(resources: Mapping[str, Any]) -> dict[str, float]:
    """Custom resources: names other than CPU/GPU/memory, amounts > 0 (fractions below 1 allowed)."""
    out: dict[str, float] = {}
    for name, amount in (resources or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a custom resource needs a name")
        if name in _RESERVED_RESOURCES:
            raise ValueError(f"resource '{name}' is set with num_cpus / num_gpus / memory, not in resources")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
            raise ValueError(f"resource '{name}' needs an amount > 0, got {amount!r}")
        if amount > 1 and float(amount) != int(amount):
            raise ValueError(f"resource '{name}': amounts above 1 must be whole numbers, got {amount}")
        out[name] = float(amount)
    return out


def check_label_selector(selector: Mapping[str, Any]) -> dict[str, str]:
    """A node label selector: ``{key: value}`` where value is ``v``, ``!v``, ``in(a,b)`` or ``!in(a,b)``."""
    out: dict[str, str] = {}
    for key, value in (selector or {}).items():
        prefix, _, name = str(key).rpartition("/")
        if not _LABEL_NAME.fullmatch(name) or (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.fullmatch(prefix))):
            raise ValueError(f"node label '{key}' is not a valid label key (e.g. 'zone' or 'ray.io/node-id')")
        if not isinstance(value, str) or not _SELECTOR_VALUE.fullmatch(value.strip()):
            raise ValueError(
                f"node label '{key}': {value!r} is not a selector value (use 'v', '!v', 'in(a,b)' or '!in(a,b)')"
            )
        out[str(key)] = value.strip()
    return out


def requires_ray(binding: Any) -> bool:
    """Whether the binding asks for any placement (then the state never runs inline)."""
    get = binding.get if isinstance(binding, Mapping) else lambda k: getattr(binding, k, None)
    return any(get(f) not in (None, {}, 0) for f in PLACEMENT_FIELDS) or get("num_cpus") == 0


def ray_options(binding: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Ray task options of a dumped binding, or ``None`` when it asks for no placement."""
    cpus, gpus, memory = binding.get("num_cpus"), binding.get("num_gpus"), binding.get("memory")
    resources, node = binding.get("resources"), binding.get("node")
    if cpus is None and gpus is None and memory is None and not resources and not node:
        return None
    opts: dict[str, Any] = {}
    if cpus is not None:
        opts["num_cpus"] = cpus
    if gpus is not None:
        opts["num_gpus"] = gpus
    if memory is not None:
        opts["memory"] = memory
    if resources:
        opts["resources"] = dict(resources)
    if node:
        opts["label_selector"] = dict(node)
    return opts


def describe(binding: Any) -> str:
    """One line for the editor: what the state asks of the cluster ('' when nothing)."""
    get = binding.get if isinstance(binding, Mapping) else lambda k: getattr(binding, k, None)
    parts = []
    if get("num_cpus") is not None:
        parts.append(f"{get('num_cpus'):g} CPU")
    if get("num_gpus") is not None:
        parts.append(f"{get('num_gpus'):g} GPU")
    memory = get("memory")
    if memory is not None:
        parts.append(f"{memory / 2**20:.0f} MiB memory")
    for name, amount in (get("resources") or {}).items():
        parts.append(f"{amount:g} {name}")
    for key, value in (get("node") or {}).items():
        parts.append(f"node {key}={value}")
    return ", ".join(parts)
