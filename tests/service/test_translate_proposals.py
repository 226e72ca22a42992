"""POST /workflows/translate returns the schedule / trigger / notification proposals (issue 16)."""


def test_translate_returns_proposals(client):
    tr = client.translate(
        "Every weekday at 7am, when a CSV arrives in the inbox, load it into the warehouse. "
        "Tell the on-call when it fails."
    )
    assert tr["valid"] is True and "load" in tr["dsl"]
    props = tr["proposals"]
    assert [s["cron"] for s in props["schedules"]] == ["0 7 * * 1-5"]
    assert [(t["type"], t["glob"]) for t in props["triggers"]] == [("file", "*.csv")]
    assert props["notifications"] == [{"channels": ["on-call"], "on": ["failed"]}]


def test_a_description_over_the_translators_limit_is_refused_saying_how_to_split_it(client):
    import pytest

    from engine.ai.translator import MAX_DESCRIPTION_CHARS
    from engine.client import ServiceError

    text = "Fetch the orders, retry it 3 times, and then validate them, " * (MAX_DESCRIPTION_CHARS // 50)
    for call in (lambda: client.translate(text), lambda: client.create_workflow(nl_description=text)):
        with pytest.raises(ServiceError) as err:
            call()
        assert err.value.status == 400 and err.value.code == "invalid_request", err.value
        assert f"{len(text):,} characters" in str(err.value) and "sub-workflows" in str(err.value)
    assert client.translate("Fetch the orders, then validate them.")["valid"] is True  # the service goes on
