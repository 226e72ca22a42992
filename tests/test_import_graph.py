"""The import graph of engine/, ray_tasks/ and app/, read statically (ast; nothing is imported).

Rules checked:

- no import cycle among module-level imports (a cycle there fails at import time, depending on
  which module is imported first);
- no cycle either once imports inside functions are added. Deciding: deferred imports COUNT. They
  do not fail at import time, but a loop through them still ties the modules together (neither can
  be understood, tested or moved without the other: ``api`` <-> ``workbench_service`` was one),
  and a deferred import turns into a module-level one the day someone tidies it. Imports inside
  functions stay allowed for optional or heavy dependencies (Ray, the AI layer), as long as they
  do not close a loop. Imports under ``if TYPE_CHECKING:`` are left out (they never run);
- ``ray`` is imported only under ``ray_tasks/``;
- the app (``app/``) neither imports ``duckdb`` nor runs SQL: no ``.query/.execute/.sql`` call and
  no ``SELECT ... FROM`` text; its read queries live in ``engine.records``.

Each check is a function over ``{module: source}`` so the tests below can show it catches a bad graph.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "ray_tasks", "app")
SQL_CALLS = {"query", "execute", "executemany", "sql"}
SQL_TEXT = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b", re.IGNORECASE)


# ------------------------------------------------------------------------------------ reading the graph
def module_sources(root: Path = ROOT) -> dict[str, tuple[str, bool]]:
    """Dotted module name -> (source, is a package ``__init__``) for every file of the packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            out[".".join(parts)] = (path.read_text(encoding="utf-8"), is_pkg)
    return out


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, source: str, is_pkg: bool) -> list[tuple[str, bool, int]]:
    """(imported dotted name, deferred, line) for each name an import statement binds.

    ``deferred``: the statement is inside a function (runs when called, not at import). ``from a
    import b`` is reported as ``a.b`` (resolved to ``a`` later when ``a.b`` is not a module).
    """
    found: list[tuple[str, bool, int]] = []
    package = name.split(".") if is_pkg else name.split(".")[:-1]

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), deferred)
            elif isinstance(child, ast.Import):
                found.extend((a.name, deferred, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package[: len(package) - (child.level - 1)]
                    base = ".".join([*up, base] if base else up)
                found.extend((f"{base}.{a.name}", deferred, child.lineno) for a in child.names)
            else:
                visit(child, deferred)

    visit(ast.parse(source), False)
    return found


def build_graph(sources: dict[str, tuple[str, bool]]):
    """(module-level edges, all edges, raw imports) among the given modules."""

    def resolve(target: str) -> str | None:
        while target and target not in sources:
            target = target.rpartition(".")[0]
        return target or None

    module_level: dict[str, set[str]] = defaultdict(set)
    everything: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, list[tuple[str, bool, int]]] = {}
    for name, (source, is_pkg) in sources.items():
        raw[name] = imports_of(name, source, is_pkg)
        for target, deferred, _line in raw[name]:
            dep = resolve(target)
            if dep is None or dep == name:
                continue
            everything[name].add(dep)
            if not deferred:
                module_level[name].add(dep)
    return module_level, everything, raw


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    nodes = sorted(set(edges) | {d for ds in edges.values() for d in ds})
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    return sorted(cycles)


def ray_imports_outside_ray_tasks(raw) -> list[str]:
    """'module:line' for each import of ``ray`` (or ``ray.*``) outside ``ray_tasks``."""
    return [
        f"{m}:{line}"
        for m, imps in sorted(raw.items())
        if not m.startswith("ray_tasks")
        for target, _d, line in imps
        if target == "ray" or target.startswith("ray.")
    ]


def app_sql(sources: dict[str, tuple[str, bool]], raw) -> list[str]:
    """'module:line what' for each duckdb import, SQL call or SQL text in ``app``."""
    bad = []
    for name, (source, _pkg) in sorted(sources.items()):
        if not name.startswith("app"):
            continue
        bad += [
            f"{name}:{line} imports duckdb"
            for target, _d, line in raw[name]
            if target == "duckdb" or target.startswith("duckdb.")
        ]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                bad.append(f"{name}:{node.lineno} calls .{node.func.attr}()")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
                bad.append(f"{name}:{node.lineno} holds SQL text")
    return bad


@pytest.fixture(scope="module")
def project():
    sources = module_sources()
    return sources, *build_graph(sources)


# ------------------------------------------------------------------------------------ the project's graph
def test_the_graph_covers_the_three_packages(project):
    sources, module_level, everything, _raw = project
    assert {"engine.api", "engine.records", "ray_tasks.executor", "app.main"} <= set(sources)
    assert "engine.schema" in module_level["engine.records"]
    assert "ray_tasks.executor" in everything["engine.executors"]  # a deferred import is in the full graph
    assert "ray_tasks.executor" not in module_level["engine.executors"]  # ... and not in the module-level one


def test_no_cycle_among_module_level_imports(project):
    _sources, module_level, _everything, _raw = project
    assert find_cycles(module_level) == []


def test_no_cycle_with_imports_inside_functions(project):
    _sources, _module_level, everything, _raw = project
    assert find_cycles(everything) == []


def test_ray_is_imported_only_in_ray_tasks(project):
    _sources, _module_level, _everything, raw = project
    assert ray_imports_outside_ray_tasks(raw) == []


def test_app_neither_imports_duckdb_nor_runs_sql(project):
    sources, _module_level, _everything, raw = project
    assert app_sql(sources, raw) == []


RECORDS_MODULES = {
    "engine.records",
    "engine.records.common",
    "engine.records.runs",
    "engine.records.run_detail",
    "engine.records.people",
    "engine.records.run_engine",
    "engine.records.versions",
    "engine.records.totals",
    "engine.records.analytics",
    "engine.records.optimizer",
}


def test_records_is_a_leaf_of_the_engine(project):
    """The records package (every module of it) imports only engine.schema and its own modules."""
    sources, module_level, everything, _raw = project
    assert {m for m in sources if m == "engine.records" or m.startswith("engine.records.")} == RECORDS_MODULES
    for module in sorted(RECORDS_MODULES):
        assert everything[module] <= RECORDS_MODULES | {"engine.schema"}, module
    assert RECORDS_MODULES - {"engine.records"} <= module_level["engine.records"]  # the package re-exports them


# the DSL parser in layers: no module imports one listed after it (the public entry points come last)
DSL_PARSER_LAYERS = ("engine.dsl.lalr", "engine.dsl.parse_errors", "engine.dsl.fast_path", "engine.dsl.parser")


def test_the_dsl_parser_modules_are_layered(project):
    """lalr (the lark parser) <- parse_errors, fast_path <- parser (the public entry points)."""
    sources, _module_level, everything, _raw = project
    assert set(DSL_PARSER_LAYERS) <= set(sources)
    for i, module in enumerate(DSL_PARSER_LAYERS):
        later = set(DSL_PARSER_LAYERS[i + 1 :])
        assert not everything[module] & later, f"{module} imports {everything[module] & later}"
    assert {"engine.dsl.lalr", "engine.dsl.parse_errors", "engine.dsl.fast_path"} <= everything["engine.dsl.parser"]


# ------------------------------------------------------------------------------------ the checks catch bad graphs
def _fake(modules: dict[str, str]) -> dict[str, tuple[str, bool]]:
    return {name: (src, name in {"engine", "app", "ray_tasks"}) for name, src in modules.items()}


def test_checker_finds_a_module_level_cycle_and_a_deferred_one():
    sources = _fake(
        {
            "engine": "",
            "engine.a": "from engine import b\n",
            "engine.b": "import engine.a\n",
            "engine.c": "def f():\n    from engine.d import x\n",
            "engine.d": "from engine.c import y\nx = 1\n",
            "engine.e": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.f import z\n",
            "engine.f": "from engine.e import w\n",
        }
    )
    module_level, everything, _raw = build_graph(sources)
    assert find_cycles(module_level) == [["engine.a", "engine.b"]]
    assert find_cycles(everything) == [["engine.a", "engine.b"], ["engine.c", "engine.d"]]  # not e/f


def test_checker_resolves_relative_imports():
    sources = _fake(
        {"engine": "", "engine.p": "", "engine.p.x": "from . import y\n", "engine.p.y": "from .x import thing\n"}
    )
    module_level, _everything, _raw = build_graph(sources)
    assert find_cycles(module_level) == [["engine.p.x", "engine.p.y"]]


def test_checker_finds_ray_outside_ray_tasks_and_sql_in_the_app():
    sources = _fake(
        {
            "engine": "",
            "engine.x": "def f():\n    import ray\n",
            "ray_tasks": "",
            "ray_tasks.t": "import ray\n",
            "app": "",
            "app.p": "import duckdb\nrows = store.query('select 1')\n",
            "app.q": "TEXT = 'SELECT a FROM t'\n",
        }
    )
    _m, _e, raw = build_graph(sources)
    assert ray_imports_outside_ray_tasks(raw) == ["engine.x:2"]
    assert app_sql(sources, raw) == ["app.p:1 imports duckdb", "app.p:2 calls .query()", "app.q:1 holds SQL text"]
