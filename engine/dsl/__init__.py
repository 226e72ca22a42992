"""The workflow DSL: grammar (lark LALR), model, parser, validator, printer, graph export, conditions.

The names below are the stable public API; import them from here or from their modules.
"""

from engine.dsl.conditions import evaluate_condition
from engine.dsl.graph import to_dot, to_graph, to_json, to_mermaid
from engine.dsl.model import WorkflowModel
from engine.dsl.parser import MAX_BYTES, MAX_TRANSITIONS, parse, parse_condition
from engine.dsl.printer import to_dsl
from engine.dsl.validate import analyze, check, load_valid, validate
from engine.errors import ConditionError, DSLError, Issue, ValidationReport

__all__ = [
    "parse",
    "parse_condition",
    "validate",
    "check",
    "load_valid",
    "analyze",
    "to_dsl",
    "to_graph",
    "to_json",
    "to_mermaid",
    "to_dot",
    "evaluate_condition",
    "WorkflowModel",
    "Issue",
    "DSLError",
    "ConditionError",
    "ValidationReport",
    "MAX_BYTES",
    "MAX_TRANSITIONS",
]
