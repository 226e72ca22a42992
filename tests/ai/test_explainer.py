"""The offline explainer: purpose, steps in order, decisions in words, parallel work, the end."""

from engine.ai.offline_explainer import condition_words, explain_offline
from engine.ai.prompts import few_shot_examples
from engine.dsl.parser import parse


def words_of(cond_text):
    return condition_words(parse(f"a->b:{cond_text};").transitions[0].condition)


def test_conditions_in_words():
    assert words_of("credit_score>700") == "when credit score is above 700"
    assert words_of("600<=credit_score<=700") == "when credit score is between 600 and 700"
    assert words_of("payment_success==True") == "when payment succeeded"
    assert words_of("payment_success==False") == "when payment failed"
    assert words_of("order_valid==False") == "when order is not valid"
    assert words_of("has_discrepancies==True") == "when there are discrepancies"
    assert words_of("severity=='critical'") == "when severity is critical"
    assert words_of("risk in ['high','critical']") == "when risk is one of high or critical"
    assert words_of("amount>=100 and vip==True") == "when amount is at least 100 and vip is true"
    assert words_of('"the customer sounds angry"').startswith('when the decision engine judges that "the customer')
    assert words_of("@error") == "if it fails"


def test_explains_purpose_steps_decisions_and_end():
    text = explain_offline(
        "start->receive_claim;\nreceive_claim->assess_damage;\n"
        "assess_damage->pay_out:estimate<1000;\nassess_damage->send_adjuster;\n"
        "pay_out->notify_customer;\nsend_adjuster->notify_customer;\nnotify_customer->end;\n"
    )
    assert text.startswith("This workflow starts with receive claim and ends after notify customer.")
    assert "1. Receive claim." in text
    assert "Decision: when estimate is below 1000 → pay out; otherwise → send adjuster." in text
    assert "What decides the path: at assess damage, estimate." in text
    assert text.rstrip().endswith("The workflow is complete after notify customer.")


def test_explains_parallel_work_loops_and_error_paths():
    text = explain_offline(
        "start->collect;\ncollect->[check_a,check_b];\n[check_a,check_b]->review;\n"
        "review->collect:missing==True;\nreview->publish;\npublish->end;\n"
        "publish->rollback:@error;\nrollback->end;\n"
    )
    assert "Then these run at the same time: check a and check b." in text
    assert "When check a and check b have all finished, it continues with review." in text
    assert "happen in parallel; the workflow waits for all of them" in text
    assert "If this step fails, it goes to rollback." in text
    assert "when missing is true → collect" in text


def test_natural_conditions_are_explained_as_judgement_calls():
    text = explain_offline('start->read;\nread->escalate:"the customer sounds angry";\nread->end;\nescalate->end;\n')
    assert "Judgement calls" in text and "waits for a person" in text


def test_every_seed_example_is_explained():
    for ex in few_shot_examples():
        text = explain_offline(ex["dsl"])
        assert "Steps in order:" in text and "The workflow is complete after" in text


def test_invalid_dsl_says_what_is_wrong():
    assert "cannot be read yet" in explain_offline("start->;")
    assert "not valid yet" in explain_offline("start->a;\na->b;\n")


APPROVAL_DSL = (
    "start->approve_purchase;approve_purchase->place_order:approved==True;approve_purchase->end;"
    "approve_purchase->escalate_director:@error;place_order->end;escalate_director->end;"
)


def test_an_approvals_error_path_is_explained_as_what_happens_when_nobody_answers_in_time():
    limited = {"approve_purchase": {"action": "approval", "timeout_s": 2 * 86_400}}
    text = explain_offline(APPROVAL_DSL, bindings=limited)
    assert "If nobody answers within 2 d, it goes to escalate director." in text
    assert "If this step fails" not in text
    # no time limit, or no bindings at all: the error path is what follows a failure
    unlimited = {"approve_purchase": {"action": "approval"}}
    for bindings in (unlimited, None):
        assert "If this step fails, it goes to escalate director." in explain_offline(APPROVAL_DSL, bindings=bindings)
    # a step that is not an approval keeps the failure wording even with a timeout
    python = {"approve_purchase": {"action": "python", "timeout_s": 60}}
    assert "If this step fails, it goes to escalate director." in explain_offline(APPROVAL_DSL, bindings=python)


def test_the_offline_translation_explains_an_approval_time_limit_in_the_steps():
    from engine.ai.translator import offline_translation

    t = offline_translation(
        "Ask the manager to approve the purchase. If there is no answer within 2 days, escalate to the "
        "director. If approved, place the order."
    )
    steps = t.explanation.split("Steps in order:")[1].split("What decides")[0]
    assert "If nobody answers within 2 d, it goes to escalate director." in steps


def test_a_large_workflow_is_explained_without_rescanning_its_transitions(monkeypatch):
    """150 steps, each with an error path and a decision that meet again: the explainer looked at every
    transition again for every step it followed back (4.3 million looks here, 24 s at 400 steps); it now
    builds each step's successors once. Counted on ``Transition.is_fan_in``, read once per look."""
    from engine.dsl import model as dsl_model

    lines = ["start->s0;"]
    for i in range(150):
        lines += [f"s{i}->f{i}:@error;", f"s{i}->b{i}:ok{i}==False;", f"s{i}->c{i};", f"f{i}->c{i};"]
        lines += [f"b{i}->s{i};", f"c{i}->s{i + 1};"]
    lines.append("s150->end;")
    dsl = "\n".join(lines)
    looks = [0]
    plain = dsl_model.Transition.is_fan_in

    def counted(self):
        looks[0] += 1
        return plain.fget(self)

    monkeypatch.setattr(dsl_model.Transition, "is_fan_in", property(counted))
    text = explain_offline(dsl)
    assert "It has 601 steps" in text and "Then it goes back to step" in text
    assert looks[0] < 20 * len(lines), looks[0]
