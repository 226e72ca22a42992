"""Python client of the workbench service (``workbench serve``), on httpx.

```python
from engine.client import WorkbenchClient
c = WorkbenchClient()                      # WORKBENCH_SERVER or http://127.0.0.1:8000
wf = c.create_workflow(dsl="start->a; a->end;", name="demo")
run = c.execute(wf["workflow_id"], {"order_id": 3})
for event in c.events(run["execution_id"]):
    print(event["type"], event.get("state"))
```
Errors of the API raise :class:`ServiceError` with the HTTP status, the error code, message and details.
The API token (``Authorization: Bearer``) is ``token=``, else ``WORKBENCH_TOKEN``, else the user-only file
``~/.config/workbench/token`` (see :mod:`engine.auth`); without one the service must be in local mode.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx

from engine.errors import WorkbenchError

DEFAULT_SERVER = "http://127.0.0.1:8000"
API = "/api/v1"


def server_url() -> str:
    """``WORKBENCH_SERVER`` or the default address."""
    return (os.environ.get("WORKBENCH_SERVER") or DEFAULT_SERVER).rstrip("/")


_REACHABLE: dict[str, tuple[float, bool]] = {}  # url -> (checked at, answered)
REACHABLE_TTL_S = 5.0


# Asking a service's /health: "nothing listens" is a refused connection and answers at once, so only the
# connect has a short limit. A live service on a loaded machine (its Ray starting, its drive busy on two
# cores) may take seconds to answer; a short read limit would take that for "no service" and the app or
# the CLI would then drive the work itself, in a process that stops with it.
HEALTH_CONNECT_S = 0.5
HEALTH_READ_S = 5.0


def _health_timeout(connect: float) -> httpx.Timeout:
    return httpx.Timeout(HEALTH_READ_S, connect=connect)


def reachable_server(timeout: float = HEALTH_CONNECT_S, fresh: bool = False) -> str | None:
    """The ``WORKBENCH_SERVER`` address when it is set and a workbench service answers there (its
    ``/health``), else None. The answer is remembered for a few seconds (pages ask on every rerun);
    ``fresh`` asks again (before acting on a run: a remembered "no" may be a moment's hiccup).
    ``timeout`` limits the connect; a service that took the connection but is slow to answer (busy)
    still counts as there: work sent to it waits for it instead of running in the asking process."""
    import time

    url = os.environ.get("WORKBENCH_SERVER", "").strip().rstrip("/")
    if not url:
        return None
    now = time.monotonic()
    hit = _REACHABLE.get(url)
    if hit is not None and now - hit[0] < REACHABLE_TTL_S and not (fresh and not hit[1]):
        return url if hit[1] else None
    try:
        r = httpx.get(url + "/health", timeout=_health_timeout(timeout))
        ok = r.status_code == 200 and r.json().get("status") == "ok"
    except httpx.ReadTimeout:
        ok = True  # a process took the connection and is busy: the service, slow, not gone
    except (httpx.HTTPError, ValueError, AttributeError):
        ok = False
    _REACHABLE[url] = (now, ok)
    return url if ok else None


def forget_reachable(url: str) -> None:
    """Drop what :func:`reachable_server` remembers of ``url``: a call to it just failed to connect, so
    the next question asks the network again instead of trusting a "yes" from a service now gone (or
    from an earlier service that had the same port)."""
    _REACHABLE.pop(url.strip().rstrip("/"), None)


def service_for_this_store(url: str = DEFAULT_SERVER, timeout: float = 0.3) -> str | None:
    """``url`` when a workbench service answers there and records into the same store as this process
    would (``WORKBENCH_DB``), else None. Nothing listening costs one refused connection (``timeout``
    limits the connect); a busy service is given :data:`HEALTH_READ_S` to say which store it records to."""
    from engine.store.common import store_id

    try:
        r = httpx.get(url.rstrip("/") + "/health", timeout=_health_timeout(timeout))
        body = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(body, dict) and body.get("status") == "ok" and body.get("store_id") == store_id():
        return url.rstrip("/")
    return None


class ServiceError(WorkbenchError):
    """The service answered with an error (``status``, ``code``, ``details``) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.details = status, code, details


class WorkbenchClient:
    """One method per endpoint of ``/api/v1`` plus ``health``, ``ready`` and ``metrics``."""

    def __init__(self, base_url: str | None = None, *, timeout: float = 30.0, transport=None, token: str | None = None):
        from engine import auth

        self.base_url = (base_url or server_url()).rstrip("/")
        secret = token if token is not None else auth.token_from_environment()
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, headers=headers)

    def __repr__(self) -> str:  # never shows the token
        return f"WorkbenchClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _request(self, method: str, path: str, *, json_body: Any = None, params: dict | None = None, raw: bool = False):
        try:
            r = self._http.request(
                method, path, json=json_body, params={k: v for k, v in (params or {}).items() if v is not None}
            )
        except httpx.TransportError as exc:
            forget_reachable(self.base_url)
            raise ServiceError(
                f"cannot reach the workbench service at {self.base_url}: {exc}. Start it with "
                "`workbench serve` or set WORKBENCH_SERVER"
            ) from None
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http_error", "message": r.text[:500] or r.reason_phrase}
            raise ServiceError(
                err.get("message") or f"HTTP {r.status_code}", r.status_code, err.get("code"), err.get("details")
            )
        return r if raw else r.json()

    # ------------------------------------------------------------------ observability
    def health(self) -> dict:
        return self._request("GET", "/health")

    def ready(self) -> dict:
        """Readiness details; raises ServiceError (503) when not ready."""
        return self._request("GET", "/ready")

    def metrics(self) -> str:
        return self._request("GET", "/metrics", raw=True).text

    # ------------------------------------------------------------------ workflows
    def create_workflow(
        self,
        *,
        name: str | None = None,
        dsl: str | None = None,
        toml: str | None = None,
        nl_description: str | None = None,
        **fields,
    ) -> dict:
        """Create from exactly one of ``dsl``, ``toml`` or ``nl_description``."""
        body = {"name": name, "dsl": dsl, "toml": toml, "nl_description": nl_description, **fields}
        return self._request("POST", f"{API}/workflows", json_body={k: v for k, v in body.items() if v is not None})

    def list_workflows(
        self,
        *,
        status: str | None = None,
        tags: list[str] | str | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> dict:
        tags = ",".join(tags) if isinstance(tags, (list, tuple)) else tags
        return self._request(
            "GET",
            f"{API}/workflows",
            params={"status": status, "tags": tags, "search": search, "page": page, "page_size": page_size},
        )

    def get_workflow(self, workflow_id: str, version: int | None = None) -> dict:
        return self._request("GET", f"{API}/workflows/{workflow_id}", params={"version": version})

    def update_workflow(self, workflow_id: str, **fields) -> dict:
        """A new version with the given fields changed."""
        return self._request("PUT", f"{API}/workflows/{workflow_id}", json_body=fields)

    def archive_workflow(self, workflow_id: str) -> dict:
        return self._request("DELETE", f"{API}/workflows/{workflow_id}")

    def shares(self, workflow_id: str, *, include_removed: bool = False) -> dict:
        """``{workflow_id, owner, shares}`` of a workflow (engine/sharing.py)."""
        return self._request(
            "GET", f"{API}/workflows/{workflow_id}/shares", params={"include_removed": include_removed or None}
        )

    def share(
        self, workflow_id: str, *, user: str | None = None, group: str | None = None, level: str = "view"
    ) -> dict:
        """Share a workflow with a user or a group at ``view``, ``run`` or ``edit``."""
        body = {"user": user, "group": group, "level": level}
        return self._request("POST", f"{API}/workflows/{workflow_id}/shares", json_body=body)

    def unshare(self, workflow_id: str, *, user: str | None = None, group: str | None = None) -> dict:
        """Stop sharing a workflow with a user or a group."""
        return self._request("DELETE", f"{API}/workflows/{workflow_id}/shares", params={"user": user, "group": group})

    def execute(
        self, workflow_id: str, initial_context: dict | None = None, *, version: int | None = None, **execution_options
    ) -> dict:
        """Start a run; returns ``{execution_id, status, events_url, …}`` at once."""
        body: dict = {"initial_context": initial_context or {}}
        if version is not None:
            body["version"] = version
        if execution_options:
            body["execution_options"] = execution_options
        return self._request("POST", f"{API}/workflows/{workflow_id}/execute", json_body=body)

    def run_definition(
        self,
        *,
        toml: str | None = None,
        dsl: str | None = None,
        name: str | None = None,
        initial_context: dict | None = None,
        **execution_options,
    ) -> dict:
        """Start a run of a workflow definition (saved as a library version first, like ``api.run``)."""
        body: dict = {"toml": toml, "dsl": dsl, "name": name, "initial_context": initial_context or {}}
        if execution_options:
            body["execution_options"] = execution_options
        return self._request("POST", f"{API}/executions", json_body={k: v for k, v in body.items() if v is not None})

    def translate(self, nl_description: str, context: dict | None = None) -> dict:
        body = {"nl_description": nl_description} | ({"context": context} if context else {})
        return self._request("POST", f"{API}/workflows/translate", json_body=body)

    def optimize(self, workflow_id: str, version: int | None = None) -> dict:
        return self._request("POST", f"{API}/workflows/{workflow_id}/optimize", params={"version": version})

    def analytics(
        self,
        workflow_id: str | None = None,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        granularity: str | None = None,
    ) -> dict:
        path = f"{API}/workflows/{workflow_id}/analytics" if workflow_id else f"{API}/analytics"
        return self._request(
            "GET", path, params={"start_date": start_date, "end_date": end_date, "granularity": granularity}
        )

    # ------------------------------------------------------------------ executions
    def executions(self, *, workflow: str | None = None, status: str | None = None, limit: int = 50) -> list[dict]:
        return self._request(
            "GET", f"{API}/executions", params={"workflow": workflow, "status": status, "limit": limit}
        )["executions"]

    def queue(self) -> dict:
        """{queued, running, max_runs, max_observed} of the service's run admission."""
        return self._request("GET", f"{API}/queue")

    def execution(self, execution_id: str) -> dict:
        return self._request("GET", f"{API}/executions/{execution_id}")

    def history(self, execution_id: str) -> dict:
        return self._request("GET", f"{API}/executions/{execution_id}/history")

    def logs(self, execution_id: str, state: str | None = None) -> list[dict]:
        """What each attempt of the run's states printed (``workbench logs``)."""
        params = {"state": state} if state else None
        return self._request("GET", f"{API}/executions/{execution_id}/logs", params=params)["logs"]

    def cancel(self, execution_id: str) -> dict:
        return self._request("POST", f"{API}/executions/{execution_id}/cancel")

    def approve(self, execution_id: str, state: str, approved: bool = True, by: str = "api") -> dict:
        return self._request(
            "POST",
            f"{API}/executions/{execution_id}/approve",
            json_body={"state": state, "approved": approved, "by": by},
        )

    def answer(self, execution_id: str, state: str, value: str, by: str = "api") -> dict:
        return self._request(
            "POST", f"{API}/executions/{execution_id}/answer", json_body={"state": state, "value": value, "by": by}
        )

    def resume(self, execution_id: str, **execution_options) -> dict:
        body = {"execution_options": execution_options} if execution_options else {}
        return self._request("POST", f"{API}/executions/{execution_id}/resume", json_body=body)

    def rerun(self, execution_id: str, from_state: str, **execution_options) -> dict:
        body: dict = {"from_state": from_state}
        if execution_options:
            body["execution_options"] = execution_options
        return self._request("POST", f"{API}/executions/{execution_id}/rerun", json_body=body)

    def events(self, execution_id: str, *, timeout: float | None = None, poll_ms: int | None = None) -> Iterator[dict]:
        """Server-Sent Events of a run: what happened so far, then live, ending with ``execution_finished``.

        ``poll_ms``: how often the service reads the records for this stream (default 200)."""
        params = {"poll_ms": poll_ms} if poll_ms else None
        try:
            with self._http.stream(
                "GET",
                f"{API}/executions/{execution_id}/events",
                params=params,
                timeout=httpx.Timeout(timeout, connect=10.0),
            ) as r:
                if r.status_code >= 400:
                    r.read()
                    try:
                        err = r.json()["error"]
                    except (ValueError, KeyError, TypeError):
                        err = {"code": "http_error", "message": r.text[:500]}
                    raise ServiceError(err.get("message"), r.status_code, err.get("code"), err.get("details"))
                data: list[str] = []
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].lstrip())
                    elif line == "" and data:
                        yield json.loads("\n".join(data))
                        data = []
        except httpx.TransportError as exc:
            forget_reachable(self.base_url)
            raise ServiceError(f"lost the event stream of {execution_id} at {self.base_url}: {exc}") from None

    def wait(
        self,
        execution_id: str,
        *,
        timeout: float | None = None,
        on_event=None,
        until_waiting: bool = False,
        poll_ms: int | None = None,
    ) -> dict:
        """Follow the events until the run ends (or, with ``until_waiting``, waits for a person or for a
        wait step's timer of more than a minute: shorter timers the service waits out, and so does this);
        returns the execution."""
        for ev in self.events(execution_id, timeout=timeout, poll_ms=poll_ms):
            if on_event is not None:
                on_event(ev)
            if ev["type"] == "execution_finished":
                break
            if until_waiting and ev["type"] == "execution_status" and ev.get("status") == "waiting":
                ex = self.execution(execution_id)
                if ex.get("status") == "waiting" and not _waits_only_briefly(ex):
                    return ex
        return self.execution(execution_id)


def _waits_only_briefly(ex: dict) -> bool:
    """The run waits for nothing but wait steps whose timers end within a minute (``DETACH_TIMER_AFTER_S``):
    the service goes on by itself so soon that following the run goes on too, as a local run would."""
    from engine.run.people import DETACH_TIMER_AFTER_S, expiry_of
    from engine.run.state import now
    from engine.schema import TIMER_REQUEST

    requests = ex.get("open_requests") or []
    if ex.get("status") != "waiting" or not requests:
        return False
    for r in requests:
        end = expiry_of(r) if r.get("kind") == TIMER_REQUEST else None
        if end is None or (end - now()).total_seconds() > DETACH_TIMER_AFTER_S:
            return False
    return True


def start_saved_run(
    base_url: str, workflow_id: str, version: int | None, context: dict, options=None, token: str | None = None
) -> str:
    """Start a saved workflow version on the service at ``base_url`` with the engine's ``RunOptions``
    (what the app's Run page does when the service answers); returns the execution id.
    ``token``: the API token to send (default: the environment's, see :class:`WorkbenchClient`)."""
    opts: dict = {}
    if options is not None:
        pairs = (
            ("timeout_seconds", options.timeout_s),
            ("max_steps", options.max_steps),
            ("enable_ai_decisions", options.ai_decisions),
            ("enable_auto_recovery", options.auto_recovery),
            ("decision_threshold", options.decision_threshold),
        )
        opts = {k: v for k, v in pairs if v is not None}
        opts["execution"] = options.execution or "auto"
    with WorkbenchClient(base_url, timeout=60, token=token) as c:
        return c.execute(workflow_id, context, version=version, **opts)["execution_id"]
