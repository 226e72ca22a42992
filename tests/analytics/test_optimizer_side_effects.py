"""The advisor never suggests caching (skipping a repeat of) a state with side effects: notify, email,
files writes and non-GET http calls must run every time they are reached."""

from __future__ import annotations

import pytest

from engine import library
from engine import optimizer as O
from engine.workflow_file import StateBinding, parse_workflow_text
from tests.analytics.conftest import GAMMA_TOML, record_gamma
from tests.analytics.recorder import Recorder

D_PYTHON = '[states.d]\naction = "python"\nfunction = "tests.engine.functions:add"\n'
D_BINDINGS = {
    "python": D_PYTHON,
    "files_read": '[states.d]\naction = "files"\npath = "inbox/q_{q}.csv"\ninto = "z"\n',
    "notify": '[states.d]\naction = "notify"\nchannel = "slack"\nmessage = "q is {q}"\nurl = "https://hooks.slack.com/x"\n',
    "email": '[states.d]\naction = "email"\nto = ["ops@example.com"]\nmessage = "q is {q}"\n',
    "files_write": '[states.d]\naction = "files"\noperation = "write"\npath = "outbox/q.csv"\nfrom_key = "q"\n',
    "http_post": '[states.d]\naction = "http"\nurl = "https://api.example.com/q"\nmethod = "POST"\n'
    'allowed_hosts = ["api.example.com"]\n',
}


def _gamma_with_d(store, binding: str) -> None:
    assert D_PYTHON in GAMMA_TOML
    spec = parse_workflow_text(GAMMA_TOML.replace(D_PYTHON, D_BINDINGS[binding]))
    wid, ver = library.save_workflow(store, spec)
    rec = Recorder(store)
    record_gamma(store, rec, wid, ver, spec)  # d: 500 ms, reads q = 1, 1, 2, 1, same output for the same q
    rec.write()


@pytest.mark.parametrize("binding", ["python", "files_read"])
def test_a_repeated_deterministic_state_without_side_effects_is_worth_caching(store, binding):
    _gamma_with_d(store, binding)
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    assert [s.proposed_changes["state"] for s in rep.suggestions if s.kind == "cache_state"] == ["d"]


@pytest.mark.parametrize("binding", ["notify", "email", "files_write", "http_post"])
def test_a_state_with_side_effects_is_never_suggested_for_caching(store, binding):
    _gamma_with_d(store, binding)
    rep = O.analyze(store, "Gamma", slots=2, llm=False)
    assert [s for s in rep.suggestions if s.kind == "cache_state"] == []


def test_side_effect_of_each_action():
    def b(**kw):
        return StateBinding.model_validate(kw)

    assert O.side_effect_of(b(action="notify", channel="slack", message="m")) == "it sends a message (notify)"
    assert O.side_effect_of(b(action="email", to=["a@b.c"], message="m")) == "it sends a message (email)"
    assert O.side_effect_of(b(action="files", operation="write", path="o.csv", from_key="r")) == "it writes a file"
    assert O.side_effect_of(b(action="files", path="i.csv")) is None
    assert O.side_effect_of(b(action="http", url="https://x", method="POST")) == "it changes a service (HTTP POST)"
    assert O.side_effect_of(b(action="http", url="https://x")) is None
    assert O.side_effect_of(b(action="python", function="m:f")) is None


def test_a_retry_suggestion_for_a_side_effect_warns_that_it_repeats(store):
    from tests.analytics.conftest import DELTA_TOML, build_delta

    python_call = 'action = "python"\nfunction = "tests.engine.functions:add"\n'
    assert python_call in DELTA_TOML
    build_delta(
        store, DELTA_TOML.replace(python_call, 'action = "http"\nurl = "https://x.example/a"\nmethod = "POST"\n')
    )
    retry = [s for s in O.analyze(store, "Delta", slots=2, llm=False).suggestions if s.kind == "retry"]
    assert len(retry) == 1 and "it changes a service (HTTP POST)" in retry[0].description
    assert "idempotent" in retry[0].description


def test_a_retry_suggestion_without_side_effects_has_no_warning(store, delta):
    retry = [s for s in O.analyze(store, "Delta", slots=2, llm=False).suggestions if s.kind == "retry"]
    assert len(retry) == 1 and "idempotent" not in retry[0].description
