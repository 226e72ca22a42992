"""streamlit-agraph with its double-click made harmless.

The released agraph (0.0.45) opens ``window.open(<node title>)`` on a double-click, i.e. a new tab
at a URL built from the node (ChrisDelClea/streamlit-agraph#67). We serve a copy of its frontend
build in which that call is removed, declared as our own component. If the copy cannot be made
(read-only temp dir, a different build), we fall back to the stock component and give nodes a
title that the browser turns into an empty string, so the handler opens nothing either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

import streamlit.components.v1 as components

log = logging.getLogger("workbench.app")

_NEEDLE = "t&&window.open(t)"
_SAFE_TITLE = "\u0000"  # innerHTML of a NUL character is '' -> the stock handler opens nothing


def _patched_build() -> Path | None:
    try:
        import streamlit_agraph

        src = Path(streamlit_agraph.__file__).resolve().parent / "frontend" / "build"
        mains = list((src / "static" / "js").glob("main.*.js"))
        if len(mains) != 1:
            return None
        text = mains[0].read_text(encoding="utf-8")
        if _NEEDLE not in text:
            return None
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        dst = Path(tempfile.gettempdir()) / f"workbench-agraph-{digest}"
        done = dst / ".patched"
        if not done.exists():
            tmp = Path(tempfile.mkdtemp(prefix="workbench-agraph-"))
            shutil.copytree(src, tmp / "build")
            js = tmp / "build" / "static" / "js" / mains[0].name
            js.write_text(text.replace(_NEEDLE, "void 0"), encoding="utf-8")
            for m in (tmp / "build" / "static" / "js").glob("main.*.js.map"):
                m.unlink()
            (tmp / "build" / ".patched").write_text("double-click disabled\n")
            try:
                tmp.joinpath("build").rename(dst)
            except OSError:  # another process made it first
                shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
        return dst if done.exists() else None
    except Exception as exc:  # never stop the app over this
        log.warning("agraph double-click patch unavailable: %s", exc)
        return None


_BUILD = _patched_build()
PATCHED = _BUILD is not None
if PATCHED:
    _component = components.declare_component("workbench_agraph", path=str(_BUILD))
else:  # pragma: no cover - only when the stock build changed
    from streamlit_agraph import _agraph as _component  # type: ignore


def agraph(nodes: list[dict], edges: list[dict], config: dict):
    """Draw the graph; returns the id of the clicked node (or None). Same protocol as agraph()."""
    if not PATCHED:
        for n in nodes:
            n["title"] = _SAFE_TITLE
    data = json.dumps({"nodes": nodes, "edges": edges})
    return _component(data=data, config=json.dumps(config), default=None)
