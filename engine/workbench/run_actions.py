"""What the app does to a run (answer a person's request, cancel, resume, re-run), in one place.

In service mode (``WORKBENCH_SERVER`` set and a workbench service answering there: ``make run``) the
service owns the runs, so every action goes through its REST API and the service's refusal (its 409
reason) is what the user reads; the run stays driven by the service, also after the app restarted.
Without a service the app's own engine acts, after the same checks (:func:`run_state.refusal`).
"""

from __future__ import annotations

from engine.client import ServiceError, WorkbenchClient, reachable_server
from engine.errors import WorkbenchError
from engine.workbench import run_state, runs


class ActionRefused(WorkbenchError):
    """The run's current state does not take the action (``reason`` says why; ``status`` is the
    service's HTTP status when the service refused it)."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason, self.status = reason, status


def service_url() -> str | None:
    """The service that owns the runs (``WORKBENCH_SERVER`` when it answers), or None: the app acts itself.
    A remembered "no" is asked again: acting in the app on a run the service drives must be a last resort."""
    return reachable_server(fresh=True)


def _call(url: str, method: str, *args, **kwargs) -> dict:
    """One call of the service's API; its 4xx answers become :class:`ActionRefused` with its reason."""
    try:
        with WorkbenchClient(url, timeout=60) as client:
            return getattr(client, method)(*args, **kwargs)
    except ServiceError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            raise ActionRefused(f"the service refused it ({exc.status}): {exc}", exc.status) from None
        raise


def answer(engine, execution_id: str, state: str, value: str, by: str = "app") -> str:
    """Deliver a person's answer to the run waiting at ``state``; returns how it was delivered
    (``resumed`` when the run continued after it, else ``stored``/``live``). Raises :class:`ActionRefused`."""
    url = service_url()
    if url:
        return str(_call(url, "answer", execution_id, state, value, by=by).get("delivered") or "stored")
    why = run_state.refusal(engine, execution_id, "answer", state)
    if why:
        raise ActionRefused(why)
    return runs.answer_request(engine, execution_id, state, value, by=by)


def cancel(engine, execution_id: str) -> str:
    """Cancel the run; returns what happened (``cancelled``, ``cancelling``, ``cancel requested``)."""
    url = service_url()
    if url:
        res = _call(url, "cancel", execution_id)
        return str(res.get("message") or res.get("status") or "cancel asked").removeprefix("Execution ")
    why = run_state.refusal(engine, execution_id, "cancel")
    if why:
        raise ActionRefused(why)
    return engine.cancel(execution_id)


def resume(engine, execution_id: str) -> str:
    """Continue an interrupted run from its records (by the service in service mode); returns its id."""
    url = service_url()
    if url:
        return str(_call(url, "resume", execution_id).get("execution_id") or execution_id)
    why = run_state.refusal(engine, execution_id, "resume")
    if why:
        raise ActionRefused(why)
    return engine.resume(execution_id)


def rerun(engine, execution_id: str, from_state: str | None) -> str:
    """Start a re-run of ``execution_id`` from ``from_state`` (by the service in service mode); returns its id."""
    if not from_state:
        raise ActionRefused("choose the step to re-run from")
    url = service_url()
    if url:
        return str(_call(url, "rerun", execution_id, from_state)["execution_id"])
    why = run_state.refusal(engine, execution_id, "rerun", from_state)
    if why:
        raise ActionRefused(why)
    return engine.rerun(execution_id, from_state)
