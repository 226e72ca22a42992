"""Shared helpers of the automation tests: a test workflow with automation entries, a served store."""

from __future__ import annotations

import time

import httpx
import pytest

NOOP_TOML = '''
name = "{name}"
dsl = """start->a; a->end;"""
[states.a]
action = "noop"
execution = "inline"
{extra}
'''

# a required enum input: the [inputs] table the typed-input tests of schedules and sub-workflows share
REGION_INPUT = """
[inputs.region]
type = "string"
required = true
enum = ["eu", "us"]
"""


def save(db, name: str, extra: str) -> str:
    """Save a workflow (its TOML ``extra`` holds [[schedules]]/[[triggers]]) in the store at ``db``; its id."""
    from engine import library
    from engine.store import Store
    from engine.workflow_file import parse_workflow_text

    with Store(db) as st:
        wid, _ = library.save_workflow(st, parse_workflow_text(NOOP_TOML.format(name=name, extra=extra)))
    return wid


def wait_for(check, timeout: float = 60.0, every: float = 0.3, what: str = "condition"):
    """Poll ``check()`` until it returns a truthy value (returned) or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def api(server, method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, server.url + "/api/v1" + path, timeout=30, **kw)


@pytest.fixture
def receiver():
    """A local HTTP receiver of notification posts (tests/automation/test_notify.py: Receiver)."""
    from tests.automation.test_notify import Receiver

    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def mailbox():
    """A local SMTP server collecting e-mails (tests/automation/test_notify.py: Mailbox)."""
    from tests.automation.test_notify import Mailbox

    m = Mailbox()
    yield m
    m.close()
