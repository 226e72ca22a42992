"""Hand-offs with a particle or a long recipient (s24): "Pass on the request to legal" is pass_on_request_legal
(was request_legal: an unknown verb followed by a particle was taken for a noun), and "Hand over the keys to the
new tenant" is hand_over_keys_tenant (was hand_over_keys: a recipient that did not fit in four words was dropped
whole; now its head noun stays). A noun followed by "on the …" without a hand-off stays a noun."""

from __future__ import annotations

import pytest

from tests.ai.translated import chain, translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Pass on the request to legal.", "pass_on_request_legal"),
        ("Pass on the file to the auditor.", "pass_on_file_auditor"),
        ("Bounce back the form to the requester.", "bounce_back_form_requester"),
    ],
)
def test_an_unknown_verb_with_its_particle_is_the_verb(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == [want], r.dsl


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Hand over the keys to the new tenant.", "hand_over_keys_tenant"),
        ("Give back the deposit to the departing tenant.", "give_back_deposit_tenant"),
        ("Send the report to the new manager.", "send_report_new_manager"),  # fits: kept whole, as before
    ],
)
def test_a_long_recipient_keeps_its_head_noun(text, want):
    _, r = translated(text)
    assert chain(r.dsl, no_conditions=True) == [want], r.dsl


def test_a_noun_before_on_the_stays_a_noun():
    _, r = translated("Payroll on the first Monday.")
    assert not chain(r.dsl, no_conditions=True)[0].startswith("payroll_on"), r.dsl
