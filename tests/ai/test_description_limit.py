"""A description over the translator's limit (20,000 characters) is refused with what to do, offline and
with a model alike, by the Python API and the CLI; a description at the limit is read. The offline reading
of a long run-on text grows faster than its length, so the limit also keeps a service worker free."""

from __future__ import annotations

import io
import sys

import pytest

from engine.ai.settings import AISettings
from engine.ai.translator import MAX_DESCRIPTION_CHARS, DescriptionTooLong, Translator, get_ai


def _text(chars: int) -> str:
    sentence = "Fetch the orders from the API and validate them. "
    return (sentence * (chars // len(sentence) + 1))[:chars]


def _offline_translator() -> Translator:
    return get_ai(AISettings.from_env({}), store=None).translator


def test_a_description_at_the_limit_is_translated():
    tr = _offline_translator().translate(_text(MAX_DESCRIPTION_CHARS))
    assert tr.valid and "fetch_orders" in tr.dsl


def test_one_character_over_the_limit_is_refused_with_the_length_and_what_to_do():
    text = _text(MAX_DESCRIPTION_CHARS + 1)
    with pytest.raises(DescriptionTooLong) as err:
        _offline_translator().translate(text)
    msg = str(err.value)
    assert f"{MAX_DESCRIPTION_CHARS + 1:,} characters" in msg and f"at most {MAX_DESCRIPTION_CHARS:,}" in msg
    assert "sub-workflows" in msg and "Fetch the orders" not in msg  # says how to split it, never echoes it


def test_the_model_is_not_asked_either(llm_server, llm_settings):
    with pytest.raises(DescriptionTooLong):
        get_ai(llm_settings, store=None).translator.translate(_text(MAX_DESCRIPTION_CHARS + 500))
    assert llm_server.chat_requests == []


def test_the_cli_refuses_it_with_exit_1_and_the_message(monkeypatch, capsys):
    from engine import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO(_text(MAX_DESCRIPTION_CHARS + 10)))
    assert cli.main(["translate", "-", "--offline"]) == 1
    err = capsys.readouterr().err
    assert f"error: the description is {MAX_DESCRIPTION_CHARS + 10:,} characters" in err
