"""Typed inputs: the [inputs] table, its pydantic check of an initial context, and where it is kept."""

from __future__ import annotations

import pytest

from engine.inputs import InputSpec, InputValidationError, check_start, inputs_model, validate_context
from engine.workflow_file import WorkflowFileError, parse_workflow_text

WORKFLOW = """
name = "Regional report"
dsl = "start->report; report->end;"

[inputs.region]
type = "string"
required = true
enum = ["eu", "us"]
description = "Sales region"

[inputs.limit]
type = "integer"
default = 100
min = 1
max = 1000

[inputs.ratio]
type = "number"

[inputs.day]
type = "date"

[inputs.at]
type = "datetime"

[inputs.notify]
type = "boolean"
default = false

[inputs.tags]
type = "list"

[inputs.schema]
type = "object"
"""


@pytest.fixture
def spec():
    return parse_workflow_text(WORKFLOW)


def test_defaults_applied_types_converted_and_extras_kept(spec):
    ctx = validate_context(spec, {"region": "eu", "day": "2026-12-02", "at": "2026-12-02T07:00:00", "extra": [1]})
    assert ctx == {
        "region": "eu",
        "limit": 100,
        "notify": False,
        "day": "2026-12-02",
        "at": "2026-12-02T07:00:00",
        "extra": [1],
    }
    assert validate_context(spec, {"region": "us", "limit": "12", "ratio": 2})["limit"] == 12
    assert validate_context(spec, {"region": "us", "schema": {"a": 1}, "tags": ["x"]})["schema"] == {"a": 1}


@pytest.mark.parametrize(
    "context,field,words",
    [
        ({}, "region", "is required (Sales region)"),
        ({"region": "fr"}, "region", 'must be one of "eu", "us"'),
        ({"region": "eu", "limit": 5000}, "limit", "less than or equal to 1000"),
        ({"region": "eu", "limit": 0}, "limit", "greater than or equal to 1"),
        ({"region": "eu", "limit": True}, "limit", "true/false value is not a number"),
        ({"region": "eu", "limit": 1.5}, "limit", "integer"),
        ({"region": "eu", "ratio": "much"}, "ratio", "number"),
        ({"region": "eu", "day": "yesterday"}, "day", "date"),
        ({"region": "eu", "at": "noon"}, "at", "datetime"),
        ({"region": "eu", "tags": "a,b"}, "tags", "list"),
        ({"region": "eu", "schema": [1]}, "schema", "dictionary"),
        ({"region": 7}, "region", "string"),
    ],
)
def test_bad_input_is_refused_naming_the_field(spec, context, field, words):
    with pytest.raises(InputValidationError) as err:
        validate_context(spec, context)
    assert err.value.field == field
    assert f"input '{field}'" in str(err.value) and words in str(err.value)


def test_workflow_without_inputs_keeps_any_context():
    spec = parse_workflow_text('name = "x"\ndsl = "start->a; a->end;"\n')
    assert validate_context(spec, {"anything": 1}) == {"anything": 1}
    assert validate_context(spec, None) == {}


@pytest.mark.parametrize(
    "table,words",
    [
        ('[inputs.n]\ntype = "integer"\ndefault = "many"', "inputs.n: Value error, default 'many' is not valid"),
        ('[inputs.n]\ntype = "string"\nmin = 1', "min/max apply to integer and number inputs"),
        ('[inputs.n]\ntype = "integer"\nenum = [1, "x"]', "enum value 'x' is not a valid integer"),
        ('[inputs.n]\ntype = "money"', "inputs.n.type"),
        ('[inputs.n]\ntype = "string"\nrequird = true', "inputs.n.requird"),
        ('[inputs."bad name"]\ntype = "string"', "input name 'bad name' must be an identifier"),
        ('[inputs.n]\ntype = "integer"\nmin = 5\nmax = 1', "min (5) is greater than max (1)"),
    ],
)
def test_bad_declarations_are_refused_when_the_file_is_read(table, words):
    with pytest.raises(WorkflowFileError) as err:
        parse_workflow_text(f'name = "x"\ndsl = "start->a; a->end;"\n{table}\n')
    assert words in str(err.value)


def test_model_is_built_once_per_table_and_names_like_schema_work(spec):
    assert inputs_model(spec.inputs) is inputs_model(dict(spec.inputs))
    assert "schema" in inputs_model(spec.inputs).model_json_schema()["properties"]
    assert validate_context({"model_config": InputSpec(type="integer", default=1)}, {}) == {"model_config": 1}


def test_inputs_round_trip_through_toml_and_the_library(spec, store):
    from engine.library import get_workflow, save_workflow

    again = parse_workflow_text(spec.to_toml())
    assert again.inputs == spec.inputs and again.inputs["limit"].max == 1000
    wid, version = save_workflow(store, spec)
    loaded, _ = get_workflow(store, wid, version)
    assert loaded.inputs == spec.inputs
    with pytest.raises(InputValidationError):
        validate_context(loaded, {"region": "mars"})


def test_check_start_also_requires_every_secret_the_bindings_use(spec, monkeypatch, tmp_path):
    from engine.secrets import SecretError

    monkeypatch.setenv("WORKBENCH_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    uses = parse_workflow_text(
        WORKFLOW
        + '\n[states.report]\naction = "http"\nurl = "https://example.com/r?k={secret:REPORT_KEY}"\n'
        + 'allowed_hosts = ["example.com"]\n'
    )
    monkeypatch.delenv("WORKBENCH_SECRET_REPORT_KEY", raising=False)
    with pytest.raises(SecretError) as err:
        check_start(uses, {"region": "eu"})
    assert "'REPORT_KEY'" in str(err.value) and "WORKBENCH_SECRET_REPORT_KEY" in str(err.value)
    monkeypatch.setenv("WORKBENCH_SECRET_REPORT_KEY", "k-123456")
    assert check_start(uses, {"region": "eu"})["limit"] == 100


def test_a_change_of_inputs_shows_in_the_version_diff(spec, store):
    from engine.library import diff_versions, save_workflow

    wid, v1 = save_workflow(store, spec)
    changed = spec.model_copy(deep=True)
    changed.inputs["limit"] = changed.inputs["limit"].model_copy(update={"max": 500})
    _, v2 = save_workflow(store, changed, workflow_id=wid)
    diff = diff_versions(store, wid, v1, v2)
    assert '-[inputs.limit] {"default": 100, "max": 1000.0, "min": 1.0, "type": "integer"}' in diff
    assert '+[inputs.limit] {"default": 100, "max": 500.0, "min": 1.0, "type": "integer"}' in diff


def test_engine_start_is_the_one_check_every_start_goes_through(spec, inline_engine, monkeypatch, tmp_path):
    from engine.secrets import SecretError

    with pytest.raises(InputValidationError) as err:
        inline_engine.start(spec, {"region": "eu", "limit": 0})
    assert err.value.field == "limit"
    assert inline_engine.store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"] == 0
    eid = inline_engine.start(spec, {"region": "eu"})
    res = inline_engine.wait(eid, timeout=60)
    assert res.status == "completed" and res.final_context["limit"] == 100 and res.final_context["notify"] is False

    monkeypatch.setenv("WORKBENCH_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    uses = parse_workflow_text(
        'name = "s"\ndsl = "start->a; a->end;"\n[states.a]\naction = "python"\n'
        'function = "tests.automation.secret_functions:echo"\nparams = { x = "{secret:ENGINE_START_MISSING}" }\n'
    )
    with pytest.raises(SecretError, match="ENGINE_START_MISSING"):
        inline_engine.start(uses, {})
