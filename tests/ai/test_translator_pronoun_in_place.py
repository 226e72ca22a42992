"""'it' followed by where it goes (issue 16 follow-up): "log it in Zendesk" is log_complaint_zendesk (was
log_in_zendesk: 'log … in' read as the phrasal verb 'log in'), "store it in S3" -> store_report_s3 (was
store_s3); a real phrasal verb with nothing after it ("log it in") is unchanged."""

from __future__ import annotations

import pytest

from tests.ai.translated import translated


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Take the customer's complaint, log it in Zendesk, and reply to the customer.",
            "log_complaint_zendesk",
        ),
        ("Export the report and store it in S3.", "store_report_s3"),
        ("Print the label and stick it on the box.", "stick_label_box"),
        ("Open the laptop and log it in.", "log_in_laptop"),
    ],
)
def test_where_it_goes_is_not_a_particle(text, want):
    _, r = translated(text)
    assert want in r.dsl, r.dsl
