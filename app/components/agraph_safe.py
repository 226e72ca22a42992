"""streamlit-agraph with its double-click made harmless and zoom/fit controls added.

The released agraph (0.0.45) opens ``window.open(<node title>)`` on a double-click, i.e. a new tab
at a URL built from the node (ChrisDelClea/streamlit-agraph#67). We serve a copy of its frontend
build in which that call is removed, declared as our own component. The copy also hands the
vis-network instance to a small script (``_TOOLBAR_JS``) that draws "Fit", "Zoom in" and "Zoom out"
buttons over the canvas and fits the drawing to its box after each data change and resize: the
mouse wheel is left to the page (``interaction.zoomView`` is off in ``graph_view.graph_config``),
so these buttons are how one zooms. If the copy cannot be made (read-only temp dir, a different
build), we fall back to the stock component and give nodes a title that the browser turns into an
empty string, so the handler opens nothing either.
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
_NETWORK_HOOK = "getNetwork:function(e){}"
_PATCH_VERSION = "5"  # bump when the patch changes: the copy's folder name includes it
_TOOLBAR_JS = """<style>html { overflow-x: auto; overflow-y: hidden; }</style><script>
window.__wbGraph = function (network) {
  window.__wbNetwork = network;
  var fit = function () {  // fit, then lift the drawing to the top of the box (free space goes below)
    network.fit({animation: false});
    var s = network.getScale(), top = Infinity;
    Object.keys(network.body.nodes).forEach(function (id) {
      var b = network.getBoundingBox(id);
      if (b && b.top < top) top = b.top;
    });
    var c = network.getViewPosition(), h = network.canvas.frame.canvas.clientHeight;
    var y = top - 8 / s + h / (2 * s);
    if (isFinite(y) && y > c.y) network.moveTo({position: {x: c.x, y: y}, scale: s, animation: false});
    var doc = document.scrollingElement;  // a canvas wider than the column: show its middle first
    if (doc && doc.scrollWidth > doc.clientWidth) doc.scrollLeft = (doc.scrollWidth - doc.clientWidth) / 2;
  };
  setTimeout(fit, 0);
  var zoom = function (f) {
    network.moveTo({scale: Math.min(4, Math.max(0.1, network.getScale() * f)), animation: false});
  };
  network.body.emitter.on("_dataChanged", function () { setTimeout(fit, 0); });
  window.addEventListener("resize", function () { setTimeout(fit, 0); });
  if (document.getElementById("wb-graph-tools")) return;
  var bar = document.createElement("div");
  bar.id = "wb-graph-tools";
  bar.setAttribute("role", "toolbar");
  bar.style.cssText = "position:fixed;top:6px;right:6px;z-index:10;display:flex;gap:4px";
  [["Fit", "\u2922 Fit", fit], ["Zoom in", "+", function () { zoom(1.25); }],
   ["Zoom out", "\u2212", function () { zoom(0.8); }]].forEach(function (b) {
    var el = document.createElement("button");
    el.type = "button";
    el.textContent = b[1];
    el.title = b[0] + (b[0] === "Fit" ? " (show the whole workflow)" : "");
    el.setAttribute("aria-label", b[0]);
    el.style.cssText = "font:13px sans-serif;padding:2px 8px;border:1px solid #cbd5e1;border-radius:6px;" +
      "background:rgba(255,255,255,.92);color:#0f172a;cursor:pointer;min-width:30px";
    el.addEventListener("click", b[2]);
    bar.appendChild(el);
  });
  document.body.appendChild(bar);
};
</script>"""
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
        digest = hashlib.sha256((_PATCH_VERSION + text).encode()).hexdigest()[:12]
        dst = Path(tempfile.gettempdir()) / f"workbench-agraph-{digest}"
        done = dst / ".patched"
        if not done.exists():
            tmp = Path(tempfile.mkdtemp(prefix="workbench-agraph-"))
            shutil.copytree(src, tmp / "build")
            js = tmp / "build" / "static" / "js" / mains[0].name
            patched = text.replace(_NEEDLE, "void 0")
            patched = patched.replace(_NETWORK_HOOK, "getNetwork:function(e){window.__wbGraph&&window.__wbGraph(e)}")
            js.write_text(patched, encoding="utf-8")
            index = tmp / "build" / "index.html"
            index.write_text(index.read_text(encoding="utf-8").replace("</head>", _TOOLBAR_JS + "</head>", 1))
            for m in (tmp / "build" / "static" / "js").glob("main.*.js.map"):
                m.unlink()
            (tmp / "build" / ".patched").write_text("double-click disabled, zoom/fit controls\n")
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
