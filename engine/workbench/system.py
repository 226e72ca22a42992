"""The settings page's facts: the cluster (through the engine's executor) and the store."""

from __future__ import annotations

import os

from engine.errors import WorkbenchError


def cluster_details(engine) -> dict:
    """Cluster status plus address/resources when Ray is connected (never starts Ray)."""
    st = dict(engine.cluster_status())
    st.update(address=None, resources={}, nodes=0, mode=None)
    if st.get("ready") and st.get("kind") == "ray":
        try:
            describe = getattr(engine.executor, "cluster_info", None)  # the Ray executor's own report
            info = describe() if describe is not None else None
            if info is not None:
                st.update(
                    address=info.address,
                    resources=info.resources,
                    nodes=info.nodes,
                    mode=info.mode,
                    dashboard_url=st.get("dashboard_url") or info.dashboard_url,
                )
        except Exception as exc:  # a dead cluster: report it
            st["error"] = st.get("error") or f"Ray stopped answering: {exc}"
    st["configured_address"] = os.environ.get("RAY_ADDRESS") or "auto (local head, else a new local Ray)"
    return st


def store_details(store) -> dict:
    """The store's path, log directory and row counts per table (or the error)."""
    try:
        counts = store.counts()
    except WorkbenchError as exc:
        counts = {"error": str(exc)}
    return {"path": str(store.path), "log_dir": str(getattr(store, "log_dir", "")), "counts": counts}


def warm_up_in_background(engine, wait_s: float = 300.0) -> None:
    """Once the engine's Ray is connected, start one worker per CPU (``ray_tasks.warmup``) on a daemon
    thread, so the first run's parallel branches really run side by side. Returns at once; does
    nothing for an engine that runs states inline."""
    import threading
    import time

    def go():
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            st = engine.cluster_status()
            if st.get("kind") != "ray" or st.get("error"):
                return
            if st.get("ready"):
                from ray_tasks import warmup

                warmup.warm_workers()
                return
            time.sleep(0.5)

    threading.Thread(target=go, name="ray-warm-up", daemon=True).start()


def warm_up_status() -> dict:
    """The worker warm-up's progress (``ray_tasks.warmup.status``); idle when Ray is not used here."""
    try:
        from ray_tasks import warmup
    except ImportError:  # Ray not installed
        return {"state": "idle"}
    return warmup.status()


def service_cluster_status(url: str, timeout: float = 1.0) -> dict:
    """The Ray of the workbench service at ``url`` (its ``/ready``), as ``{ready, error, dashboard_url, kind}``
    like ``engine.cluster_status()``: in service mode the service's Ray runs the steps, not this app's."""
    import httpx

    from engine.client import forget_reachable

    try:
        body = httpx.get(url.rstrip("/") + "/ready", timeout=timeout).json()  # 200 or 503, both with the checks
        ray = (body.get("checks") or {}).get("ray") or {}
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        if isinstance(exc, httpx.TransportError):
            forget_reachable(url)  # gone: the sidebar must not go on saying "Connected"
        ray = {"ok": False, "error": f"the service at {url} did not say how its Ray is ({type(exc).__name__})"}
    ok = bool(ray.get("ok"))
    return {
        "ready": ok,
        "error": None if ok or ray.get("error") == "Ray is still connecting" else ray.get("error"),
        "dashboard_url": ray.get("dashboard_url") if ok else None,
        "kind": ray.get("kind") or "ray",
    }
