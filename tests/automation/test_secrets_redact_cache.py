"""Redaction of step outcomes reads the secret sources once while they are unchanged (it ran for every
state on every worker: ~1 ms each, most of a no-op state's cost), yet sees every change at once."""

from __future__ import annotations

import os
import time

from engine import secrets


def test_redaction_sees_a_new_variable_a_changed_file_and_a_removed_variable_at_once(tmp_path, monkeypatch):
    user_file = tmp_path / "secrets.toml"
    monkeypatch.setenv(secrets.FILE_ENV, str(user_file))
    monkeypatch.delenv("WORKBENCH_SECRET_CACHE_A", raising=False)
    assert secrets.redact("value-aaaa") == "value-aaaa"
    monkeypatch.setenv("WORKBENCH_SECRET_CACHE_A", "value-aaaa")
    assert secrets.redact("x value-aaaa") == "x [redacted:CACHE_A]"
    user_file.write_text('CACHE_B = "value-bbbb"\n')
    user_file.chmod(0o600)
    assert secrets.redact("value-bbbb") == "[redacted:CACHE_B]"
    user_file.write_text('CACHE_B = "value-cccc"\n')  # same size: the mtime/inode tell it changed
    os.utime(user_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert secrets.redact("value-cccc value-bbbb") == "[redacted:CACHE_B] value-bbbb"
    monkeypatch.delenv("WORKBENCH_SECRET_CACHE_A")
    assert secrets.redact("value-aaaa") == "value-aaaa"


def test_unchanged_sources_are_not_read_again(tmp_path, monkeypatch):
    monkeypatch.setenv(secrets.FILE_ENV, str(tmp_path / "none.toml"))
    monkeypatch.setenv("WORKBENCH_SECRET_CACHE_D", "value-dddd")
    first = secrets._known_values()
    assert secrets._known_values() is first  # the same list: nothing re-read or re-sorted


def test_an_outcome_without_text_long_enough_for_a_secret_skips_the_sources(monkeypatch):
    def refuse():
        raise AssertionError("the secret sources were read")

    monkeypatch.setattr(secrets, "_known_values", refuse)
    short = {"ok": True, "n": 3, "x": [1.5, None, ("a", "bc")], "abc": {"d": "efg"}}
    assert secrets.redact(short) is short  # no text of MIN_REDACT_LENGTH characters: nothing to look up


def test_a_secret_of_the_shortest_length_is_still_redacted_in_keys_and_values(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SECRET_SHORT_E", "e1f2")
    assert len("e1f2") == secrets.MIN_REDACT_LENGTH
    assert secrets.redact({"e1f2": 1}) == {"[redacted:SHORT_E]": 1}
    assert secrets.redact({"k": ["x", ("e1f2",)]}) == {"k": ["x", ("[redacted:SHORT_E]",)]}


def test_an_unchanged_environment_is_not_scanned_again_and_a_changed_value_is_seen(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SECRET_CACHE_F", "value-ffff")
    secrets._known_values()
    seen = secrets._env_seen
    secrets._known_values()
    assert secrets._env_seen is seen  # compared with the copy, not scanned
    monkeypatch.setenv("UNRELATED_VARIABLE_OF_THE_TEST", "1")  # any change: scanned again, same secrets
    assert secrets.redact("value-ffff") == "[redacted:CACHE_F]"
    assert secrets._env_seen is not seen
    monkeypatch.setenv("WORKBENCH_SECRET_CACHE_F", "value-gggg")  # a value replaced in place
    assert secrets.redact("value-ffff value-gggg") == "value-ffff [redacted:CACHE_F]"


def test_a_secrets_file_named_twice_is_looked_at_once(monkeypatch):
    monkeypatch.chdir(secrets._REPO_ROOT)  # the working directory's .streamlit/secrets.toml is the repo's
    calls: list[str] = []
    real = secrets._stat_stamp
    monkeypatch.setattr(secrets, "_stat_stamp", lambda path: calls.append(path) or real(path))
    secrets._sources_stamp()
    assert sorted(calls) == sorted(set(calls)) and secrets._REPO_SECRETS in calls
