"""The API refuses a binding field its action ignores (tests/engine/test_unused_fields.py has the rule)."""

from __future__ import annotations

import httpx
import pytest

from tests.engine.test_unused_fields import APPROVAL_WITH_PROMPT


@pytest.mark.slow
def test_the_api_refuses_an_ignored_field_with_a_400_and_saves_nothing(server):
    url = server.url + "/api/v1/workflows"
    r = httpx.post(url, json={"toml": APPROVAL_WITH_PROMPT}, timeout=60)
    assert r.status_code == 400, r.text
    assert "does not use 'prompt'" in r.json()["error"]["message"]
    r = httpx.post(
        url,
        json={
            "name": "JSON states",
            "dsl": "start->a; a->end;",
            "states": {"a": {"action": "python", "function": "m:f", "query": "SELECT 1"}},
        },
        timeout=60,
    )
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert "action 'python' does not use 'query'" in err["message"] and err["details"][0]["field"] == "states.a"
    names = [
        w["name"] for w in httpx.get(url, params={"status": "all", "page_size": 200}, timeout=60).json()["workflows"]
    ]
    assert "Pay after approval" not in names and "JSON states" not in names


def test_an_update_keeps_what_the_stored_version_already_had():
    """A version saved before the rule may carry an ignored field; an update that sends its states back
    unchanged is not refused for it, one that adds such a field is."""
    from engine.service.errors import ApiError
    from engine.service.routes import _spec_from
    from engine.workflow_file import WorkflowSpec

    base = WorkflowSpec.model_validate(
        {
            "name": "Old one",
            "dsl": "start->a; a->b; b->end;",
            "states": {"a": {"action": "noop", "message": "saved long ago"}},
        }
    )
    states = base.model_dump(mode="json")["states"]
    assert _spec_from({"states": states, "description": "new words"}, base).description == "new words"
    with pytest.raises(ApiError, match="action 'noop' does not use 'message'"):
        _spec_from({"states": {**states, "b": {"action": "noop", "message": "new"}}}, base)
