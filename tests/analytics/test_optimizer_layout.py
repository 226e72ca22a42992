"""The optimizer is a package of small modules, each with one role, reading records only through engine.records."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "engine" / "optimizer"
MAX_LINES = 500

# module -> names it must define (its role)
ROLES = {
    "settings": {"MIN_RUNS", "CHEAPER_MODEL", "OptimizerError"},
    "statistics": {"median", "mann_whitney_u", "fisher_exact", "makespan"},
    "target": {"Target", "resolve_target", "load_spec", "parallel_slots"},
    "suggestion": {"Suggestion"},
    "side_effects": {"side_effect_of"},
    "parallel": {"state_io", "dependency", "find_chains", "segments", "parallel_dsl", "suggest_parallel"},
    "reliability": {"suggest_reliability", "suggest_failing_states"},
    "caching": {"state_inputs", "suggest_caching"},
    "llm_costs": {"suggest_llm"},
    "scoring": {"score_parts", "SCORE_FORMULA"},
    "narrative": {"offline_narrative"},
    "report": {"OptimizationReport", "analyze"},
    "decisions": {"save_suggestions", "apply_change", "accept", "reject", "get_record", "list_records"},
    "comparison": {"version_sample", "compare_versions", "record_actual_improvement"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")


def _defined(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_the_optimizer_is_a_package_of_the_named_modules():
    assert not (ROOT / "engine" / "optimizer.py").exists()
    assert {p.stem for p in _modules()} == set(ROLES)


@pytest.mark.parametrize("module", sorted(ROLES))
def test_each_module_holds_its_role_and_says_so(module):
    path = PACKAGE / f"{module}.py"
    assert ROLES[module] <= _defined(path), f"{module}.py lost part of its role"
    assert ast.get_docstring(ast.parse(path.read_text())), f"{module}.py has no docstring saying what it is for"


def test_no_module_is_too_big_to_live_in():
    sizes = {p.name: len(p.read_text().splitlines()) for p in [*_modules(), PACKAGE / "__init__.py"]}
    assert {n: s for n, s in sizes.items() if s > MAX_LINES} == {}


def test_reads_go_through_engine_records_only():
    """No ray, no duckdb, no SQL on the store inside the package."""
    for path in [*_modules(), PACKAGE / "__init__.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            assert not roots & {"ray", "duckdb", "ray_tasks"}, f"{path.name}:{node.lineno} imports {roots}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in ("query", "query_df", "execute", "sql"), f"{path.name}:{node.lineno}"


def test_every_public_name_is_still_importable_from_engine_optimizer():
    package = importlib.import_module("engine.optimizer")
    for module, names in ROLES.items():
        sub = importlib.import_module(f"engine.optimizer.{module}")
        for name in names:
            assert getattr(package, name) is getattr(sub, name), f"engine.optimizer.{name} is not {module}.{name}"
    assert set(package.__all__) <= set(dir(package))


def test_public_functions_have_docstrings():
    missing = []
    for path in [*_modules()]:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if not ast.get_docstring(node):
                    missing.append(f"{path.stem}.{node.name}")
    assert missing == []
