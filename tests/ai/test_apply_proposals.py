"""Accepting proposals into a workflow that already has [notifications], [[schedules]] or [[triggers]].

Every combination of what the workflow already holds and what is proposed: the result validates like a
workflow file, keeps what was there, adds what is new exactly once and survives a TOML round trip.
"""

import itertools

import pytest

from engine.ai.proposals import apply_to_spec
from engine.workflow_file import WorkflowSpec, parse_workflow_text

DSL = "start -> finish"
SLACK = {"type": "slack", "url": "{secret:SLACK_WEBHOOK}"}
MAIL = {"type": "email", "to": ["ops@example.com"]}

EXISTING_NOTIFICATIONS = {
    "none": None,
    "named": {"channels": ["on-call"], "on": ["failed"]},
    "inline": {"channels": [SLACK], "on": ["failed", "deadline"]},
    "named+inline": {"channels": ["on-call", SLACK, MAIL], "on": ["waiting"]},
    "empty": {"channels": [], "on": ["failed"]},
}
PROPOSED_NOTIFICATIONS = {
    "none": [],
    "named": [{"channels": ["ops"], "on": ["failed"]}],
    "same-name": [{"channels": ["on-call"], "on": ["failed"]}],
    "inline": [{"channels": [MAIL], "on": ["failed"]}],
    "same-inline": [{"channels": [dict(SLACK)], "on": ["completed"]}],
}
EXISTING_SCHEDULES = {
    "none": [],
    "s1": [{"id": "s1", "every": "1h"}],
    "unnamed": [{"cron": "0 7 * * 1-5", "timezone": "UTC"}],
}
PROPOSED_SCHEDULES = {
    "none": [],
    "new": [{"id": "s1", "every": "15m", "description": "proposed from 'every 15 minutes'"}],
    "same": [{"id": "s9", "every": "1h"}],
    "no-id": [{"cron": "0 8 * * *", "timezone": "Europe/Paris"}],
}
FILE = {"type": "file", "id": "inbox-csv", "folder": "data/inbox", "glob": "*.csv", "into": "file"}
HOOK = {"type": "webhook", "id": "stripe-hook", "auth": "hmac", "secret": "{secret:STRIPE_HOOK}"}
EXISTING_TRIGGERS = {"none": [], "file": [FILE], "file+hook": [FILE, HOOK]}
PROPOSED_TRIGGERS = {
    "none": [],
    "same-file": [dict(FILE, description="proposed from 'when a CSV arrives in the inbox'")],
    "other-file": [dict(FILE, glob="*.json")],
    "hook": [dict(HOOK)],
}


def _channel_key(c):
    return c if isinstance(c, str) else (c.type, c.url, tuple(c.to))


def _spec(notifications, schedules, triggers) -> WorkflowSpec:
    kw = {"dsl": DSL, "schedules": schedules, "triggers": triggers}
    if notifications is not None:
        kw["notifications"] = notifications
    return WorkflowSpec(**kw)


@pytest.mark.parametrize(
    "have_n,prop_n",
    list(itertools.product(EXISTING_NOTIFICATIONS, PROPOSED_NOTIFICATIONS)),
)
def test_notifications_merge_for_every_existing_and_proposed_table(have_n, prop_n):
    spec = _spec(EXISTING_NOTIFICATIONS[have_n], [], [])
    props = {"schedules": [], "triggers": [], "notifications": PROPOSED_NOTIFICATIONS[prop_n]}
    out = apply_to_spec(spec, props, {"notifications": [0] if props["notifications"] else []})
    before = spec.notifications
    if not props["notifications"]:
        assert out.notifications == before
        return
    got = [_channel_key(c) for c in out.notifications.channels]
    assert len(got) == len(set(got)), f"a channel is listed twice: {got}"
    old = [_channel_key(c) for c in (before.channels if before else [])]
    new = [
        _channel_key(c) for c in WorkflowSpec(dsl=DSL, notifications=props["notifications"][0]).notifications.channels
    ]
    assert got == list(dict.fromkeys([*old, *new]))
    on = list(dict.fromkeys([*(before.on if before else []), *props["notifications"][0]["on"]]))
    assert out.notifications.on == on
    # the merged workflow is still a valid workflow file
    again = parse_workflow_text(out.to_toml(), fmt="toml")
    assert [_channel_key(c) for c in again.notifications.channels] == got


def test_accepting_the_same_notification_twice_changes_nothing_the_second_time():
    spec = _spec(EXISTING_NOTIFICATIONS["named+inline"], [], [])
    props = {"notifications": [{"channels": ["ops", dict(SLACK)], "on": ["failed"]}]}
    once = apply_to_spec(spec, props, {"notifications": [0]})
    twice = apply_to_spec(once, props, {"notifications": [0]})
    assert twice.notifications == once.notifications
    assert [_channel_key(c) for c in once.notifications.channels] == [
        "on-call",
        ("slack", SLACK["url"], ()),
        ("email", None, ("ops@example.com",)),
        "ops",
    ]


@pytest.mark.parametrize(
    "have_s,prop_s,have_t,prop_t",
    list(itertools.product(EXISTING_SCHEDULES, PROPOSED_SCHEDULES, EXISTING_TRIGGERS, PROPOSED_TRIGGERS)),
)
def test_schedules_and_triggers_merge_for_every_combination(have_s, prop_s, have_t, prop_t):
    spec = _spec(EXISTING_NOTIFICATIONS["inline"], EXISTING_SCHEDULES[have_s], EXISTING_TRIGGERS[have_t])
    props = {"schedules": PROPOSED_SCHEDULES[prop_s], "triggers": PROPOSED_TRIGGERS[prop_t], "notifications": []}
    accepted = {"schedules": list(range(len(props["schedules"]))), "triggers": list(range(len(props["triggers"])))}
    out = apply_to_spec(spec, props, accepted)
    # what was there stays, unchanged and first
    assert out.schedules[: len(spec.schedules)] == spec.schedules
    assert out.triggers[: len(spec.triggers)] == spec.triggers
    assert out.notifications == spec.notifications
    # ids stay unique (the workflow file refuses duplicates; apply_to_spec validates)
    assert len({s.id for s in out.schedules}) == len(out.schedules)
    assert len({t.id for t in out.triggers}) == len(out.triggers)

    # a proposal equal to an entry already there (other than its id/description) is not added twice
    def what(entry):
        d = entry.model_dump(mode="json", exclude={"id", "description"})
        return tuple(sorted((k, repr(v)) for k, v in d.items()))

    assert len({what(s) for s in out.schedules}) == len(out.schedules), "the same schedule would fire twice"
    assert len({what(t) for t in out.triggers}) == len(out.triggers), "the same trigger would start runs twice"
    expected_schedules = {what(s) for s in spec.schedules} | {
        what(WorkflowSpec(dsl=DSL, schedules=[p]).schedules[0]) for p in props["schedules"]
    }
    assert {what(s) for s in out.schedules} == expected_schedules
    expected_triggers = {what(t) for t in spec.triggers} | {
        what(WorkflowSpec(dsl=DSL, triggers=[p]).triggers[0]) for p in props["triggers"]
    }
    assert {what(t) for t in out.triggers} == expected_triggers


def test_indexes_out_of_range_are_ignored():
    spec = _spec(EXISTING_NOTIFICATIONS["inline"], EXISTING_SCHEDULES["s1"], [FILE])
    props = {"schedules": PROPOSED_SCHEDULES["new"], "triggers": [], "notifications": PROPOSED_NOTIFICATIONS["named"]}
    out = apply_to_spec(spec, props, {"schedules": [3, -1], "triggers": [0], "notifications": [5]})
    assert out.schedules == spec.schedules and out.triggers == spec.triggers
    assert out.notifications == spec.notifications
