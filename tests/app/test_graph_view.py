"""Graph layout logic of app.components.graph_view (what the browser draws is checked by screenshots)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from app.components import graph_layout as gl
from app.components import graph_view as gv
from engine.dsl.examples import EXTENDED_EXAMPLES, SEED_EXAMPLES
from engine.workbench import drafts

TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "templates"
CICD = SEED_EXAMPLES["Appendix C.2 CI/CD pipeline (parallel)"]
LOOP = "start->a;a->a:n<3;a->b;b->c;c->a:retry==True;c->end;"
BRANCHES = [f"b{i}" for i in range(8)]
WIDE8 = (
    f"start->p;p->[{','.join(BRANCHES)}];[{','.join(BRANCHES)}]->m:all_ok==True;"
    f"[{','.join(BRANCHES)}]->r;m->end;r->end;"
)


def _graph(dsl: str) -> dict:
    chk = drafts.check_dsl(dsl)
    assert chk.ok, chk.errors
    return chk.graph


def _all_dsl():
    out = dict(SEED_EXAMPLES) | dict(EXTENDED_EXAMPLES)
    for p in sorted(TEMPLATES.glob("*.toml")):
        out[p.name] = tomllib.loads(p.read_text())["dsl"]
    for p in sorted(TEMPLATES.glob("*.dsl")):
        out[p.name] = p.read_text()
    out |= {
        "loop": LOOP,
        "wide8": WIDE8,
        "retry+error": "start->f;f->p;p->v;v->f:again==True;v->s;f->x:@error;s->end;x->end;",
    }
    return out


ALL = _all_dsl()


def test_layout_levels_are_longest_paths_without_back_edges():
    nodes = ["start", "a", "b", "c", "end"]
    edges = [("start", "a"), ("a", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "end"), ("a", "end")]
    level, back = gl.layout_levels(nodes, edges)
    assert level == {"start": 0, "a": 1, "b": 2, "c": 3, "end": 4}
    assert back == {1, 4}  # the self loop and the retry back to a
    # unreachable states still get a level (an invalid workflow in the editor)
    level, _ = gl.layout_levels(["start", "x", "y", "end"], [("start", "end"), ("x", "y")])
    assert level["y"] == level["x"] + 1 and level["end"] > level["start"]


def test_fan_in_condition_is_shown_once_through_a_join_marker():
    nodes, edges = gv.graph_elements(_graph(CICD))
    texts = [x["label"].replace("\n", "") for x in nodes + edges if x.get("label")]
    assert texts.count("all_tests_pass==True") == 1
    assert texts.count("any_test_fail==True") == 1
    markers = [n for n in nodes if n["label"] == "all 3 done"]
    assert len(markers) == 1  # both fan-ins leave the same marker
    into = {e["from"] for e in edges if e["to"] == markers[0]["id"]}
    assert into == {"run_unit_tests", "run_integration_tests", "run_security_scan"}
    # no arrowheads into the marker, one arrow per condition out of it
    assert all(not e["arrows"]["to"]["enabled"] for e in edges if e["to"] == markers[0]["id"])


def test_a_plain_join_keeps_its_arrows_into_the_join_step():
    dg = gl.display_graph(_graph(ALL["sales_report.toml"]))
    assert not [n for n in dg["nodes"] if n["kind"] == "join_marker"]
    assert sum(1 for e in dg["edges"] if e["to"] == "combine_report") == 4


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_edge_spans_one_level_and_labels_never_sit_on_long_edges(name):
    dg = gl.display_graph(_graph(ALL[name]))
    lvl = {n["id"]: n["level"] for n in dg["nodes"]}
    for e in dg["edges"]:
        span = lvl[e["to"]] - lvl[e["from"]]
        if e["from"] == e["to"]:
            continue
        assert span == 1 or (e["back"] and span == -1), (name, e)
        if e["label"]:
            assert e["direct_loop"], (name, e)  # only a short loop carries its condition on the arrow itself
    assert lvl["start"] == 0 and lvl["end"] == max(lvl.values())
    # the vis-network elements: every node has a level, labels stay horizontal
    nodes, edges = gv.graph_elements(_graph(ALL[name]))
    assert all(isinstance(n["level"], int) for n in nodes)
    assert all(e["font"]["align"] == "horizontal" for e in edges)


def test_loops_are_levelled_by_us_and_drawn_as_back_edges():
    dg = gl.display_graph(_graph(LOOP))
    lvl = {n["id"]: n["level"] for n in dg["nodes"] if n["real"]}
    assert lvl == {"start": 0, "a": 1, "b": 2, "c": 3, "end": 4}
    self_loop = [e for e in dg["edges"] if e["from"] == e["to"] == "a"]
    assert self_loop and self_loop[0]["label"] == "n<3"
    # the retry c->a spans two levels: its condition sits in a box just above c, then up to a
    box = next(n for n in dg["nodes"] if n["label"] == "retry==True")
    assert box["kind"] == "condition" and box["level"] == 2
    nodes, edges = gv.graph_elements(_graph(LOOP))
    cfg = gv.graph_config(500)
    assert cfg["layout"]["hierarchical"]["enabled"] and all("level" in n for n in nodes)


def test_conditions_sit_in_boxes_next_to_their_decision_with_otherwise_and_on_error():
    dg = gl.display_graph(_graph(ALL["Extended: loan check (parallel, NL condition, @error)"]))
    by = {n["id"]: n for n in dg["nodes"]}
    boxes = [n for n in dg["nodes"] if n["kind"] == "condition"]
    assert {"otherwise", "on error"} <= {b["label"] for b in boxes}
    for b in boxes:  # each box is one level below the state its arrow leaves
        src = next(e["from"] for e in dg["edges"] if e["to"] == b["id"])
        assert by[src]["real"] and by[src]["level"] + 1 == b["level"]


def test_canvas_height_follows_depth_and_width_without_a_cap():
    chain = "start->" + "".join(f"s{i};s{i}->" for i in range(30)) + "end;"
    tall = gv.graph_height(_graph(chain))
    assert tall > 2000
    assert gv.graph_height(_graph("start->a;a->end;")) < 350
    cicd = gv.graph_height(_graph(CICD))
    assert 1000 < cicd < tall
    # a wide fan-out narrows its nodes; when even that does not fit the column at a readable size,
    # the canvas gets wider than the column (it scrolls sideways) instead of shrinking the labels
    nodes, _ = gv.graph_elements(_graph(WIDE8), width_hint=560)
    b0 = next(n for n in nodes if n["id"] == "b0")
    assert b0["widthConstraint"]["maximum"] < 100
    assert 250 < gv.graph_height(_graph(WIDE8)) < 800
    assert gl.fitted_sizes(gl.display_graph(_graph(WIDE8)), 560)["canvas_w"] > 560
    assert gl.fitted_sizes(gl.display_graph(_graph(CICD)), 560)["canvas_w"] is None


@pytest.mark.parametrize("width", [500, 560, 700, 1000])
def test_every_label_is_at_least_14_px_once_fitted_to_the_column(width):
    """The fonts are set so that the label size on screen (font x the zoom vis-network fits the
    drawing at) is >= 14 px, for every shipped example and template at the column widths we use."""
    for name, dsl in ALL.items():
        graph = _graph(dsl)
        sizes = gl.fitted_sizes(gl.display_graph(graph), width)
        nodes, edges = gv.graph_elements(graph, width_hint=width)
        fonts = [n["font"]["size"] for n in nodes if n.get("label", "").strip()]
        fonts += [e["font"]["size"] for e in edges if e.get("label")]
        assert min(fonts) * sizes["scale"] >= 14, (name, width, min(fonts), sizes["scale"])


def test_the_wheel_is_left_to_the_page():
    """vis-network swallows wheel events (preventDefault) only when zoomView is on."""
    cfg = gv.graph_config(400)
    assert cfg["interaction"]["zoomView"] is False and cfg["interaction"]["dragView"] is True


def test_long_conditions_wrap_after_underscores():
    assert gl.wrap_label("payment_success==False", 10) == "payment_\nsuccess\n==False"


def test_order_within_levels_avoids_crossings():
    for name in ("seed_order_processing.dsl", "seed_cicd_pipeline.dsl", "seed_support_tickets.dsl"):
        dg = gl.display_graph(_graph(ALL[name]))
        order = gl.order_levels(dg)
        layers: dict[int, list[str]] = {}
        for n in dg["nodes"]:
            layers.setdefault(n["level"], []).append(n["id"])
        for layer in layers.values():
            layer.sort(key=order.__getitem__)
        links = [
            (e["from"], e["to"]) if order and True else None
            for e in dg["edges"]
            if next(n["level"] for n in dg["nodes"] if n["id"] == e["to"])
            == next(n["level"] for n in dg["nodes"] if n["id"] == e["from"]) + 1
        ]
        assert gl._crossings([layers[i] for i in sorted(layers)], order, links) == 0, name


def test_run_colours_follow_the_real_states_through_markers_and_waypoints():
    statuses = {
        "start": "completed",
        "code_quality_check": "completed",
        "parallel_tests": "completed",
        "run_unit_tests": "completed",
        "run_integration_tests": "completed",
        "run_security_scan": "completed",
        "build_image": "running",
    }
    nodes, edges = gv.graph_elements(_graph(CICD), statuses)
    by = {n["id"]: n for n in nodes}
    marker = next(n for n in nodes if n["label"] == "all 3 done")
    assert marker["color"]["background"] == "#7c3aed"  # passed
    taken = [e for e in edges if e.get("width") == 3.5]
    assert any(e["to"] == marker["id"] for e in taken)
    assert any(e["to"] == "build_image" for e in taken)
    assert not any(e["to"] == "notify_failure" for e in taken)
    assert by["build_image"]["color"]["background"] == gv.STATUS_COLORS["running"][0]


def test_clicks_on_drawing_helpers_are_not_a_selected_state(monkeypatch):
    from app.components import agraph_safe

    monkeypatch.setattr(agraph_safe, "agraph", lambda nodes, edges, config: nodes[-1]["id"])
    assert gv.render_graph(_graph(CICD)) is None  # the last node is a helper
    monkeypatch.setattr(agraph_safe, "agraph", lambda nodes, edges, config: "build_image")
    assert gv.render_graph(_graph(CICD)) == "build_image"
