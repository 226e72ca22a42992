"""Editor page (AppTest): Add transition offers the existing states, and the graph stays (stale) while
the DSL does not parse."""

from __future__ import annotations

from engine.workbench import library as wb_library
from engine.workflow_file import WorkflowSpec


def _open(page_test, app_engine, dsl: str):
    wid, _ = wb_library.save_workflow(app_engine.store, WorkflowSpec(name="Shop", dsl=dsl))
    at = page_test("editor")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    assert not at.exception
    return at


def _graphs(at) -> int:
    """How many agraph components the page drew (AppTest shows custom components as unknown elements)."""
    return len(at.get("component_instance"))


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_add_transition_from_and_to_are_choices_of_existing_states(page_test, app_engine):
    at = _open(page_test, app_engine, "start->pick;\npick->pack;\npack->end;\n")
    src, dst = at.selectbox(key="ed.t.add.src"), at.selectbox(key="ed.t.add.dst")
    assert src.options == ["start", "pick", "pack", "new state…"]
    assert dst.options == ["pick", "pack", "end", "new state…"]
    src.select("pick")
    dst.select("new state…")
    at.run()
    at.text_input(key="ed.t.add.dst_new").input("gift_wrap")
    at.text_input(key="ed.t.add.cond").input("gift == True")
    _button(at, "Add transition").click()
    at.run()
    assert not at.exception
    assert "pick->gift_wrap:gift==True;" in at.text_area(key="ed.dsl").value
    # the new state is a choice from now on
    assert "gift_wrap" in at.selectbox(key="ed.t.add.src").options


def test_add_transition_without_a_choice_says_what_is_missing(page_test, app_engine):
    at = _open(page_test, app_engine, "start->pick;\npick->end;\n")
    before = at.text_area(key="ed.dsl").value
    _button(at, "Add transition").click()
    at.run()
    assert at.text_area(key="ed.dsl").value == before
    assert any("Choose where the transition starts" in e.value for e in at.error)


def test_graph_stays_marked_stale_while_the_dsl_does_not_parse(page_test, app_engine):
    at = _open(page_test, app_engine, "start->pick;\npick->end;\n")
    assert _graphs(at) == 1
    at.text_area(key="ed.dsl").input("start->pick;\npick=>end;\n")
    at.run()
    assert not at.exception
    assert any("Stale graph" in w.value for w in at.warning)
    assert _graphs(at) == 1  # the last valid drawing, not an empty box
    assert any("did you mean '->'" in e.value for e in at.error)
    at.text_area(key="ed.dsl").input("start->pick;\npick->pack;\npack->end;\n")
    at.run()
    assert not any("Stale graph" in w.value for w in at.warning)
    assert _graphs(at) == 1


def _bind(at, state: str, action: str, fields: dict):
    """Choose ``action`` for ``state`` in the Step panel, fill ``fields`` (form key -> value), apply."""
    at.session_state["ed.selected"] = state
    at.run()
    at.selectbox(key=f"ed.b.{state}.action").select(action)
    at.run()
    assert not at.exception
    for name, value in fields.items():
        key = f"ed.b.{state}.{name}"
        if isinstance(value, str) and any(w.key == key for w in at.selectbox):
            at.selectbox(key=key).select(value)
        elif isinstance(value, str) and any(w.key == key for w in at.text_area):
            at.text_area(key=key).input(value)
        elif isinstance(value, str):
            at.text_input(key=key).input(value)
        else:
            at.number_input(key=key).set_value(value)
        at.run()
    at.button(key=f"btn.ed.apply.{state}").click()
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def test_bind_states_to_notify_email_and_files_and_save(page_test, app_engine):
    at = _open(page_test, app_engine, "start->load;\nload->save;\nsave->tell;\ntell->mail;\nmail->end;\n")
    _bind(at, "load", "files", {"path": "inbox/orders_{day}.csv", "into": "orders", "max_rows": 500})
    _bind(
        at,
        "save",
        "files",
        {"operation": "write", "format": "parquet", "path": "outbox/report.parquet", "from_key": "orders"},
    )
    _bind(
        at,
        "tell",
        "notify",
        {"channel": "slack", "message": "Order {order_id} loaded", "url": "https://hooks.slack.com/services/x"},
    )
    _bind(
        at,
        "mail",
        "email",
        {
            "message": "Report ready",
            "to": "ops@example.com, lead@example.com",
            "subject": "Report",
            "deadline_s": 600.0,
        },
    )
    at.button(key="btn.ed.save").click()
    at.run()
    assert not at.exception
    spec, _ = wb_library.get_workflow(app_engine.store, "Shop")
    states = {name: b.model_dump(exclude_defaults=True, exclude_none=True) for name, b in spec.states.items()}
    assert states["load"] == {
        "action": "files",
        "operation": "read",
        "path": "inbox/orders_{day}.csv",
        "into": "orders",
        "max_rows": 500,
    }
    assert states["save"] == {
        "action": "files",
        "operation": "write",
        "format": "parquet",
        "path": "outbox/report.parquet",
        "from_key": "orders",
    }
    assert states["tell"] == {
        "action": "notify",
        "channel": "slack",
        "message": "Order {order_id} loaded",
        "url": "https://hooks.slack.com/services/x",
    }
    assert states["mail"] == {
        "action": "email",
        "to": ["ops@example.com", "lead@example.com"],
        "subject": "Report",
        "message": "Report ready",
        "deadline_s": 600.0,
    }


def test_an_email_without_recipients_is_refused_with_the_reason(page_test, app_engine):
    at = _open(page_test, app_engine, "start->mail;\nmail->end;\n")
    at.session_state["ed.selected"] = "mail"
    at.run()
    at.selectbox(key="ed.b.mail.action").select("email")
    at.run()
    at.text_area(key="ed.b.mail.message").input("hello")
    at.run()
    at.button(key="btn.ed.apply.mail").click()
    at.run()
    assert any("needs 'to'" in e.value for e in at.error)
    assert "mail" not in (at.session_state["ed.spec"].get("states") or {})


def test_applying_a_step_keeps_a_retry_wait_longer_than_the_default_cap(page_test, app_engine):
    """A translated "retry … an hour apart" (backoff 3600 s, factor 1) stays an hour after the step is
    applied in the form, whose fields have no max_backoff_s (it fell back to 30 s: every wait capped)."""
    from engine.workflow_file import RetryPolicy

    spec = WorkflowSpec(
        name="Charge",
        dsl="start->charge_card;\ncharge_card->end;\n",
        states={
            "charge_card": {
                "action": "noop",
                "retry": {"max_attempts": 4, "backoff_s": 3600, "backoff_factor": 1, "max_backoff_s": 3600},
            }
        },
    )
    wid, _ = wb_library.save_workflow(app_engine.store, spec)
    at = page_test("editor")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    at.session_state["ed.selected"] = "charge_card"
    at.run()
    at.number_input(key="ed.b.charge_card.max_attempts").set_value(3)
    at.run()
    at.button(key="btn.ed.apply.charge_card").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    retry = RetryPolicy(**at.session_state["ed.spec"]["states"]["charge_card"]["retry"])
    assert retry.max_attempts == 3 and [retry.delay(n) for n in (1, 2)] == [3600, 3600]


def test_an_approval_waiting_two_days_opens_in_the_form_and_keeps_its_limit(page_test, app_engine):
    """A translated "if there is no answer within 2 days" (timeout_s 172800 on an approval) is above a
    running state's 1-day timeout field: the form shows it as *Answer within* in hours, and applying
    the step keeps it (a 1-day max on the one field failed the whole form)."""
    spec = WorkflowSpec(
        name="Purchase",
        dsl="start->approve_purchase;\napprove_purchase->end;\napprove_purchase->escalate:@error;\nescalate->end;\n",
        states={"approve_purchase": {"action": "approval", "message": "Buy it?", "timeout_s": 172_800}},
    )
    wid, _ = wb_library.save_workflow(app_engine.store, spec)
    at = page_test("editor")
    at.session_state["wb.workflow_id"] = wid
    at.run()
    at.session_state["ed.selected"] = "approve_purchase"
    at.run()
    assert not at.exception
    field = at.number_input(key="ed.b.approve_purchase.answer_within_h")
    assert field.value == 48.0 and field.label.startswith("Answer within")
    field.set_value(72.0)
    at.run()
    at.button(key="btn.ed.apply.approve_purchase").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["ed.spec"]["states"]["approve_purchase"]["timeout_s"] == 259_200


def test_a_wait_step_is_bound_in_minutes_or_until_a_moment(page_test, app_engine):
    at = _open(page_test, app_engine, "start->send;\nsend->pause;\npause->remind;\nremind->hold;\nhold->end;\n")
    _bind(at, "pause", "wait", {"wait_min": 90.0, "give_up_h": 6.0})
    _bind(at, "hold", "wait", {"until": "{due_at}"})
    assert not any(w.key == "ed.b.pause.params" for w in at.text_input)  # a wait takes no parameters
    states = at.session_state["ed.spec"]["states"]
    assert states["pause"] == {"action": "wait", "wait_s": 5400.0, "give_up_after_s": 21600.0}
    assert states["hold"] == {"action": "wait", "until": "{due_at}"}
    # neither or both: refused with the reason, the draft keeps what it had
    at.number_input(key="ed.b.hold.wait_min").set_value(5.0)
    at.run()
    at.button(key="btn.ed.apply.hold").click()
    at.run()
    assert any("not both" in e.value for e in at.error)
    assert at.session_state["ed.spec"]["states"]["hold"] == {"action": "wait", "until": "{due_at}"}
