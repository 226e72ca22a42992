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
