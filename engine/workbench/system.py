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
