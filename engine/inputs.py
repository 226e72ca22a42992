"""Typed inputs of a workflow: the ``[inputs]`` table of the workflow file, checked with pydantic.

```toml
[inputs.region]
type = "string"          # string | integer | number | boolean | date | datetime | list | object
required = true
enum = ["eu", "us"]
description = "Sales region"
[inputs.limit]
type = "integer"
default = 100
min = 1
max = 1000
```

:func:`validate_context` is the one check every start goes through (Engine.start, hence the API, the
CLI, schedules and webhooks): it applies defaults, converts values to their JSON form (dates as ISO
text) and raises :class:`InputValidationError` naming the field. Keys not declared are kept.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    model_validator,
)

from engine.errors import WorkbenchError

InputType = Literal["string", "integer", "number", "boolean", "date", "datetime", "list", "object"]
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_BASE: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "date": _dt.date,
    "datetime": _dt.datetime,
    "list": list[Any],
    "object": dict[str, Any],
}


class InputValidationError(WorkbenchError, ValueError):
    """The initial context does not match the workflow's ``[inputs]``. ``field`` names the first bad input;
    ``errors`` lists every problem as ``{"field", "message"}``."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        self.field = errors[0]["field"] if errors else ""
        super().__init__("; ".join(f"input '{e['field']}': {e['message']}" for e in errors))


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a true/false value is not a number")
    return value


class InputSpec(BaseModel):
    """One typed input: its type, whether it is required, its default, allowed values and bounds."""

    model_config = ConfigDict(extra="forbid")
    type: InputType = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    enum: list[Any] | None = None
    min: float | None = None
    max: float | None = None

    def annotation(self) -> Any:
        """The Python type pydantic checks a value against (with enum and bounds)."""
        base = _BASE[self.type]
        metadata: list[Any] = []
        if self.type in ("integer", "number"):
            metadata.append(Field(ge=self.min, le=self.max))
        if self.enum is not None:
            allowed = list(self.enum)

            def one_of(value: Any, allowed: list = allowed) -> Any:
                plain = value.isoformat() if isinstance(value, (_dt.date, _dt.datetime)) else value
                if plain not in allowed and value not in allowed:
                    raise ValueError(f"must be one of {', '.join(json.dumps(a, default=str) for a in allowed)}")
                return value

            metadata.append(AfterValidator(one_of))
        if self.type in ("integer", "number"):
            metadata.insert(0, _BOOL_GUARD)
        return Annotated[(base, *metadata)] if metadata else base

    @model_validator(mode="after")
    def _consistent(self):
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "number"):
            raise ValueError(f"min/max apply to integer and number inputs, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if self.enum is not None:
            if not self.enum:
                raise ValueError("enum must list at least one value")
            plain = InputSpec(type=self.type, min=self.min, max=self.max)
            for value in self.enum:
                try:
                    TypeAdapter(plain.annotation()).validate_python(value)
                except ValidationError as exc:
                    raise ValueError(f"enum value {value!r} is not a valid {self.type}: {_first(exc)}") from None
        if self.default is not None:
            try:
                TypeAdapter(self.annotation()).validate_python(self.default)
            except ValidationError as exc:
                raise ValueError(f"default {self.default!r} is not valid: {_first(exc)}") from None
            if self.required:
                raise ValueError("an input with a default is never missing: drop 'required' or the default")
        return self


_BOOL_GUARD = BeforeValidator(_no_bool)


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


def _key(inputs: dict[str, InputSpec]) -> str:
    return json.dumps({k: v.model_dump(mode="json") for k, v in inputs.items()}, sort_keys=True, default=str)


@lru_cache(maxsize=256)
def _model_for(key: str) -> type[BaseModel]:
    inputs = {k: InputSpec.model_validate(v) for k, v in json.loads(key).items()}
    fields: dict[str, Any] = {}
    # model attributes are f_0, f_1…, each aliased to its input name: names such as "schema" or
    # "model_config" cannot clash with BaseModel's own attributes
    for i, (name, spec) in enumerate(inputs.items()):
        ann = spec.annotation()
        desc = spec.description or None
        if spec.required:
            fields[f"f_{i}"] = (ann, Field(..., alias=name, description=desc))
        elif spec.default is not None:
            fields[f"f_{i}"] = (ann, Field(spec.default, alias=name, description=desc, validate_default=True))
        else:
            fields[f"f_{i}"] = (ann | None, Field(None, alias=name, description=desc))
    return create_model("WorkflowInputs", __config__=ConfigDict(extra="ignore"), **fields)


def inputs_model(inputs: dict[str, InputSpec]) -> type[BaseModel]:
    """The pydantic model (built once per distinct ``[inputs]`` table) that checks a context."""
    return _model_for(_key(inputs))


def _inputs_of(spec_or_inputs: Any) -> dict[str, InputSpec]:
    if spec_or_inputs is None:
        return {}
    if isinstance(spec_or_inputs, dict):
        return {k: v if isinstance(v, InputSpec) else InputSpec.model_validate(v) for k, v in spec_or_inputs.items()}
    return dict(getattr(spec_or_inputs, "inputs", None) or {})


def validate_context(spec_or_inputs: Any, context: dict | None) -> dict:
    """The initial context checked against the workflow's ``[inputs]``: a new dict with defaults applied
    and values in their JSON form. Raises :class:`InputValidationError` naming each bad field."""
    inputs = _inputs_of(spec_or_inputs)
    context = dict(context or {})
    if not inputs:
        return context
    model = inputs_model(inputs)
    try:
        checked = model.model_validate(context)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "?"
            if err.get("type") == "missing":
                desc = inputs[field].description if field in inputs else ""
                message = "is required" + (f" ({desc})" if desc else "")
            else:
                message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
                shown = json.dumps(err.get("input"), default=str)
                if len(shown) <= 60:
                    message += f" (got {shown})"
            errors.append({"field": field, "message": message})
        raise InputValidationError(errors) from None
    dumped = checked.model_dump(mode="json", by_alias=True)
    given = set(context)
    for name, spec in inputs.items():
        if name in given or spec.default is not None:
            context[name] = dumped[name]
    return context


def check_input_names(inputs: dict[str, InputSpec]) -> None:
    """Raise ``ValueError`` for an input name that cannot be a context key used in templates/conditions."""
    for name in inputs:
        if not INPUT_NAME.fullmatch(name):
            raise ValueError(f"input name '{name}' must be an identifier (letters, digits, _)")


def secret_references(spec: Any) -> set[str]:
    """Names of the secrets the workflow's state bindings use (``{secret:NAME}``)."""
    from engine.secrets import find_references

    states = getattr(spec, "states", None) or {}
    distinct = {id(b): b for b in states.values()}.values()  # a fan-out of 200 often shares one binding
    return find_references([b.model_dump(mode="json", exclude_none=True) for b in distinct])


def check_start(spec: Any, context: dict | None) -> dict:
    """What every run start checks before anything is recorded: the initial context against ``[inputs]``
    (returned with defaults applied) and every secret the bindings use being defined.

    Raises :class:`InputValidationError` (naming the field) or :class:`engine.secrets.SecretError`
    (naming the secret and where to define it).
    """
    from engine.secrets import check_available

    checked = validate_context(spec, context)
    check_available(secret_references(spec))
    return checked
