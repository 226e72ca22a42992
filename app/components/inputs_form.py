"""A form built from a workflow's ``[inputs]``: one widget per input, by type.

enum → selectbox; string → text input; integer/number → number input (with min/max); boolean →
checkbox; date → date input; datetime → date-time input; list/object → JSON text. The description is
the help text and required inputs are marked with ``*``. :func:`collected_context` turns the widgets'
values into an initial context checked by ``engine.inputs.validate_context`` (the same check as every
other way a run starts), raising :class:`engine.inputs.InputValidationError` naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import streamlit as st

from engine.inputs import InputSpec, InputValidationError, validate_context

_NONE = "—"  # the "no value" choice of an optional enum


def _label(name: str, spec: InputSpec) -> str:
    return f"{name} *" if spec.required else name


def _parse_date(value: Any, kind: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)) if kind == "date" else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _initial(name: str, spec: InputSpec, suggested: dict) -> Any:
    value = suggested.get(name, spec.default)
    if spec.type in ("date", "datetime"):
        return _parse_date(value, spec.type)
    if spec.type in ("list", "object"):
        return "" if value is None else json.dumps(value, indent=2, default=str)
    if spec.type == "boolean":
        return bool(value)
    if spec.type == "string" and spec.enum is None:
        return "" if value is None else str(value)
    return value


def render_inputs_form(inputs: dict[str, InputSpec], key: str, suggested: dict | None = None) -> None:
    """Draw one widget per input under session keys ``{key}.{name}`` (prefilled once per ``key``)."""
    suggested = suggested or {}
    st.session_state[f"{key}.__inputs__"] = {n: s.model_dump(mode="json") for n, s in inputs.items()}
    for name, spec in inputs.items():
        wkey = f"{key}.{name}"
        if wkey not in st.session_state:
            st.session_state[wkey] = _initial(name, spec, suggested)
        label, helptext = _label(name, spec), spec.description or None
        if spec.enum is not None:
            options = list(spec.enum) if spec.required else [_NONE, *spec.enum]
            if st.session_state[wkey] not in options:
                st.session_state[wkey] = options[0]
            st.selectbox(label, options, key=wkey, help=helptext)
        elif spec.type == "boolean":
            st.checkbox(label, key=wkey, help=helptext)
        elif spec.type in ("integer", "number"):
            integer = spec.type == "integer"
            cast = int if integer else float
            st.number_input(
                label,
                key=wkey,
                help=helptext,
                min_value=None if spec.min is None else cast(spec.min),
                max_value=None if spec.max is None else cast(spec.max),
                step=1 if integer else None,
                format=None if integer else "%g",
                placeholder="required" if spec.required else "optional",
            )
        elif spec.type == "date":
            st.date_input(label, key=wkey, help=helptext, format="YYYY-MM-DD")
        elif spec.type == "datetime":
            st.datetime_input(label, key=wkey, help=helptext)
        elif spec.type in ("list", "object"):
            st.text_area(
                f"{label} (JSON {'list' if spec.type == 'list' else 'object'})", key=wkey, help=helptext, height=90
            )
        else:
            st.text_input(label, key=wkey, help=helptext, placeholder="required" if spec.required else "")
    st.caption("\\* required")


def collected_context(key: str, extra: dict | None = None) -> dict:
    """The initial context from the form's widgets (plus ``extra``), checked against the inputs.

    Raises :class:`InputValidationError` naming the first bad field (also for JSON that does not parse).
    """
    inputs = {n: InputSpec.model_validate(d) for n, d in (st.session_state.get(f"{key}.__inputs__") or {}).items()}
    context = dict(extra or {})
    for name, spec in inputs.items():
        value = st.session_state.get(f"{key}.{name}")
        if value is None or value == "" or value == _NONE:
            continue  # absent: its default applies, or "is required"
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif spec.type in ("list", "object") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise InputValidationError([{"field": name, "message": f"is not valid JSON ({exc.msg})"}]) from None
        context[name] = value
    return validate_context(inputs, context)
