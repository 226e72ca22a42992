"""Small UI helpers shared by the pages: errors as messages, status badges, shared handles."""

from __future__ import annotations

import contextlib
import logging
import traceback

import streamlit as st

from engine import records
from engine.errors import WorkbenchError

log = logging.getLogger("workbench.app")

STATUS_ICONS = {
    "completed": "✓",
    "failed": "✗",
    "cancelled": "■",
    "running": "▸",
    "waiting": "‖",  # a pause sign: it waits for a person (a "?" read as "unknown")
    "recovering": "↻",
    "pending": "…",
    "queued": "⋯",
}
MATERIAL = {
    "completed": ":material/check_circle:",
    "failed": ":material/cancel:",
    "cancelled": ":material/stop_circle:",
    "running": ":material/progress_activity:",
    "waiting": ":material/front_hand:",
    "recovering": ":material/autorenew:",
    "pending": ":material/schedule:",
    "queued": ":material/hourglass_top:",
}


@st.cache_resource(show_spinner=False)
def _engine():
    """The process-wide engine (shared by every session; runs live on its driver thread)."""
    from engine.runner import get_engine

    return get_engine()


@st.cache_resource(show_spinner=False)
def _cluster_started() -> bool:
    from engine.workbench.system import warm_up_in_background

    _engine().start_cluster()
    warm_up_in_background(_engine())  # one Ray worker per CPU, so the first run's branches run in parallel
    return True


def start_cluster_once() -> None:
    """Connect Ray in the background on the engine's driver thread (once per process) — unless a
    workbench service answers (service mode): the service drives every run on its own Ray, so this
    app starts none (a run the app itself drives still connects Ray when it starts).

    Called at the end of the first script run, so the first page is drawn before Ray's start-up
    (10-20 s of CPU on a small machine) competes with it; runs launched earlier wait for Ray.
    """
    from engine.workbench.run_actions import service_url

    if service_url():
        return
    _cluster_started()


def engine():
    return _engine()


def store():
    return engine().store


@contextlib.contextmanager
def guard(doing: str):
    """Show failures as messages a user can act on, never as a traceback."""
    try:
        yield
    except WorkbenchError as exc:
        st.error(f"Could not {doing}: {exc}", icon=":material/warning:")
    except ImportError as exc:
        log.warning("%s: %s", doing, exc)
        st.error(
            f"Could not {doing}: a part of the workbench is not installed ({exc.name or exc}). "
            "Run `make install` and restart the app.",
            icon=":material/warning:",
        )
    except Exception as exc:  # a bug: say what happened, log the traceback for developers
        log.error("%s failed:\n%s", doing, traceback.format_exc())
        st.error(
            f"Could not {doing}: {type(exc).__name__}: {str(exc)[:300]}. The details are in the app's "
            "log; try again, or reload the page.",
            icon=":material/warning:",
        )


def run_guarded(doing: str, fn, *args, **kwargs):
    """Call ``fn``; on failure store a message for the next rerun and return None."""
    try:
        return fn(*args, **kwargs)
    except WorkbenchError as exc:
        flash(f"Could not {doing}: {exc}", "error")
    except Exception as exc:
        log.error("%s failed:\n%s", doing, traceback.format_exc())
        flash(f"Could not {doing}: {type(exc).__name__}: {str(exc)[:300]}", "error")
    return None


def flash(message: str, kind: str = "success") -> None:
    st.session_state.setdefault("_flash", []).append((kind, message))


def show_flash() -> None:
    for kind, msg in st.session_state.pop("_flash", []):
        {"success": st.success, "error": st.error, "warning": st.warning, "info": st.info}[kind](msg)


def status_badge(status: str | None) -> str:
    status = status or "unknown"
    color = {
        "completed": "green",
        "failed": "red",
        "cancelled": "gray",
        "running": "blue",
        "waiting": "orange",
        "recovering": "orange",
        "pending": "blue",
        "queued": "violet",
    }.get(status, "gray")
    return f":{color}-badge[{MATERIAL.get(status, '')} {status}]"


def short_time(ts) -> str:
    if ts is None:
        return "—"
    try:
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    except AttributeError:
        return str(ts)


def plural(word: str) -> str:
    """The plural of an English noun the app counts: step → steps, retry → retries, branch → branches."""
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def count(n, word: str) -> str:
    """``n`` and the noun in the right number: "1 step", "2 steps", "0 runs" (every count the app prints)."""
    try:
        whole = int(n)
    except (TypeError, ValueError):
        return f"{n} {plural(word)}"
    return f"{whole:,} {word if whole == 1 else plural(word)}" if whole == n else f"{n} {plural(word)}"


def duration_text(ms) -> str:
    if ms is None:
        return "—"
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60000:.1f} min"


def elapsed_text(start) -> str:
    """Time since ``start`` (a naive UTC timestamp from the records)."""
    if start is None:
        return "—"
    now = records.store_time(records.utc_now())
    return duration_text(max((now - start).total_seconds(), 0) * 1000)
