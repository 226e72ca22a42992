"""Optimize → Accept applies to the version the suggestion was made for (the one on screen), not to
whatever version is latest, and names the pair to compare in one order (issue 15)."""

from __future__ import annotations

from engine import library
from engine import optimizer as O
from tests.analytics.conftest import build_gamma


def test_accept_builds_on_the_analysed_version_not_the_latest(store):
    gamma = build_gamma(store)
    wid = gamma["wid"]
    edited = gamma["spec"].model_copy(update={"description": "edited later in the app"})
    assert library.save_workflow(store, edited, workflow_id=wid, change_note="edit")[1] == 2

    rep = O.analyze(store, "Gamma", version=1, slots=2, llm=False)  # the analyst views v1
    par = next(s for s in rep.suggestions if s.kind == "parallelize")
    out = O.accept(store, par.id)
    assert out["version"] == 3 and out["base_version"] == 1 and out["built_from"] == 1
    assert "compare version 1 with version 3" in out["message"]
    v3, _ = library.get_workflow(store, wid, 3)
    assert v3.dsl == par.proposed_changes["dsl"]
    assert v3.description == gamma["spec"].description  # v2's edit is not carried into v1's change
