"""Graph export: JSON nodes/edges for the UI, Mermaid and DOT."""

import json

from engine.dsl import parse, to_graph
from engine.dsl.examples import EXTENDED_EXAMPLES
from engine.dsl.graph import to_dot, to_json, to_mermaid

LOAN = EXTENDED_EXAMPLES["Extended: loan check (parallel, NL condition, @error)"]


def test_nodes_have_kinds_and_readable_labels():
    g = to_graph(parse(LOAN))
    kinds = {n["id"]: n["kind"] for n in g["nodes"]}
    assert kinds["start"] == "start" and kinds["end"] == "end"
    assert kinds["fetch_application"] == "fork" and kinds["decide"] == "join"
    assert kinds["approve"] == "state"
    labels = {n["id"]: n["label"] for n in g["nodes"]}
    assert labels["fetch_application"] == "fetch application"


def test_decision_kind():
    g = to_graph(parse("start->a;a->b:x>1;a->end;b->end;"))
    assert {n["id"]: n["kind"] for n in g["nodes"]}["a"] == "decision"


def test_edges_carry_kind_label_and_transition_index():
    g = to_graph(parse(LOAN))
    by_pair = {(e["from"], e["to"]): e for e in g["edges"]}
    assert by_pair[("fetch_application", "credit_score")]["kind"] == "fan_out"
    assert by_pair[("fraud_check", "decide")]["kind"] == "fan_in"
    approve = by_pair[("decide", "approve")]
    assert approve["kind"] == "conditional" and approve["label"] == "600<=score<700 and region in ['eu','us']"
    assert by_pair[("decide", "manual_review")]["label"] == '"the applicant\'s notes sound urgent"'
    err = by_pair[("fetch_application", "notify_failure")]
    assert err["kind"] == "error" and err["label"] == "@error"
    assert by_pair[("decide", "reject")]["kind"] == "normal" and by_pair[("decide", "reject")]["label"] == ""
    assert g["groups"] == [
        {
            "fork": "fetch_application",
            "branches": ["credit_score", "fraud_check"],
            "ends": ["credit_score", "fraud_check"],
            "join": "decide",
        }
    ]


def test_json_is_json():
    assert json.loads(to_json(parse(LOAN)))["nodes"][0]["id"] == "start"


def test_mermaid_prefixes_ids_so_keywords_like_end_are_safe():
    text = to_mermaid(parse('start->graph;graph->end:x=="a|b";graph->end;'))
    assert text.startswith("flowchart TD\n")
    assert '    s_end(["end"])' in text and '    s_graph{"graph"}' in text  # a decision: diamond
    assert "    s_graph -->|\"x=='a#124;b'\"| s_end" in text


def test_mermaid_escapes_quotes_in_natural_language_labels():
    text = to_mermaid(parse('start->a:"is it \\"ok\\"?";start->end;a->end;'))
    assert '|"#quot;is it \\#quot;ok\\#quot;?#quot;"|' in text


def test_dot_quotes_ids_so_keywords_like_node_are_safe():
    text = to_dot(parse("start->node;node->edge;edge->end;edge->f:@error;f->end;"))
    assert '"node" -> "edge";' in text
    assert '"edge" -> "f" [label="@error", style=dashed, color=red];' in text
    assert text.rstrip().endswith("}")
