"""Drafting and editing workflows: DSL checks, templates, transitions edited in forms, state bindings,
a suggested starting context. Pure functions over ``engine.dsl`` and ``engine.workflow_file`` (no store)."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.dsl.model import END, START, Condition, Transition, WorkflowModel
from engine.errors import DSLError, Issue, WorkbenchError
from engine.workbench.common import REPO_ROOT, TEMPLATES_DIR, ServiceError
from engine.workflow_file import StateBinding, WorkflowSpec, load_workflow, unused_field_problems


@dataclass
class DslCheck:
    """The result of checking DSL text: ok, error and warning dicts, the model and its graph."""

    ok: bool
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    model: WorkflowModel | None = None
    graph: dict | None = None


def _issue_dict(i: Issue) -> dict:
    d = i.to_dict()
    d["where"] = f"line {i.line}, column {i.column}" if i.line else ""
    d["excerpt"] = i.excerpt
    return d


def check_dsl(text: str) -> DslCheck:
    """Parse and validate DSL text; never raises for bad input."""
    from engine.dsl import check, to_graph

    if not (text or "").strip():
        return DslCheck(
            False,
            [
                {
                    "severity": "error",
                    "code": "empty",
                    "message": "the DSL is empty",
                    "line": None,
                    "column": None,
                    "hint": "start with 'start->first_step;'",
                    "where": "",
                    "excerpt": "",
                }
            ],
        )
    try:
        model, rep = check(text)
    except DSLError as exc:
        return DslCheck(False, [_issue_dict(i) for i in exc.issues])
    graph = to_graph(model)
    return DslCheck(
        not rep.errors, [_issue_dict(i) for i in rep.errors], [_issue_dict(i) for i in rep.warnings], model, graph
    )


def check_spec(spec: WorkflowSpec) -> DslCheck:
    """DSL checks plus binding checks (unused bindings, compensation states)."""
    res = check_dsl(spec.dsl)
    if res.model is None:
        return res
    rep = spec.validate_all()
    res.errors = [_issue_dict(i) for i in rep.errors]
    res.warnings = [_issue_dict(i) for i in rep.warnings]
    res.ok = not rep.errors
    return res


def templates() -> list[dict]:
    """The template gallery: every workflow file under data/templates (TOML first, then bare DSL), each
    workflow once: a bare ``seed_<id>.dsl`` whose bound ``<id>.toml`` exists is left out."""
    out = []
    bound_ids = {p.stem for p in TEMPLATES_DIR.glob("*.toml")}
    unbound = [p for p in sorted(TEMPLATES_DIR.glob("*.dsl")) if p.stem.removeprefix("seed_") not in bound_ids]
    files = sorted(TEMPLATES_DIR.glob("*.toml")) + unbound
    for p in files:
        try:
            spec = load_workflow(p)
        except WorkbenchError:
            continue
        if p.suffix == ".dsl":
            words = p.stem.removeprefix("seed_").split("_")
            title = " ".join({"cicd": "CI/CD"}.get(w, w) for w in words)
            spec = spec.model_copy(update={"name": title[:1].upper() + title[1:] + " (seed example)", "tags": ["seed"]})
            spec.source_path = str(p)
        out.append(
            {
                "key": p.stem,  # stable across reruns and new files: widget keys use it, never a position
                "name": spec.name,
                "description": spec.description,
                "tags": list(spec.tags),
                "path": str(p),
                "spec": spec,
                "states": len(spec.model.states) - 2,
                "bound": p.suffix == ".toml",
            }
        )
    return out


def parse_tags(text: str) -> list[str]:
    """Tags typed as text, separated by commas or new lines."""
    return [t.strip() for t in re.split(r"[,\n]", text or "") if t.strip()]


def _dotted_set(d: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    cur = d
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur.setdefault(parts[-1], value)


def _function_io(ref: str, search: list[Path]) -> tuple[set[str], set[str]]:
    """Context keys a python state's function needs (``context["k"]``; ``.get`` reads are optional)
    and the keys of the dict literals it returns — read statically from its source, never imported."""
    mod, _, fn = ref.partition(":")
    rel = Path(*mod.split(".")).with_suffix(".py")
    src = next((p / rel for p in search if (p / rel).exists()), None)
    if src is None:
        return set(), set()
    try:
        tree = ast.parse(src.read_text(encoding="utf-8"))
    except (SyntaxError, OSError, UnicodeDecodeError):
        return set(), set()
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn), None)
    if func is None or not func.args.args:
        return set(), set()
    ctx = func.args.args[0].arg
    reads: set[str] = set()
    writes: set[str] = set()
    for n in ast.walk(func):
        if (
            isinstance(n, ast.Subscript)
            and isinstance(n.value, ast.Name)
            and n.value.id == ctx
            and isinstance(n.slice, ast.Constant)
            and isinstance(n.slice.value, str)
        ):
            reads.add(n.slice.value)
        elif isinstance(n, ast.Return) and isinstance(n.value, ast.Dict):
            writes.update(k.value for k in n.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return reads, writes


def suggested_context(spec: WorkflowSpec, last_context: dict | None = None) -> dict:
    """A starting initial context: the previous run's, the inputs the first states read, and the
    variables the conditions use that no state writes (with the constants they are compared with)."""
    from engine.dsl.conditions import literals_for

    model = spec.model
    search = [REPO_ROOT / "data" / "functions"]
    if spec.source_path:
        search += [Path(spec.source_path).parent, Path(spec.source_path).parent / "functions"]
    from engine.merge import RESERVED_KEYS

    writes: set[str] = {"approved", "error", *RESERVED_KEYS}  # RESERVED_KEYS: what a join adds
    reads: list[str] = []
    for state in model.states:
        b = spec.binding(state)
        writes.add(f"{state}_approved")
        if b.into:
            writes.add(b.into)
        if b.action == "python" and b.function:
            r, w = _function_io(b.function, search)
            reads += [k for k in sorted(r) if k not in reads]
            writes |= w
    ctx: dict = dict(last_context or {})
    for k in reads:
        if k not in writes:
            ctx.setdefault(k, None)
    for t in model.transitions:
        c = t.condition
        if c is None or c.kind != "expr" or c.expr is None:
            continue
        for var, consts in literals_for(c.expr).items():
            if var.split(".")[0] in writes:
                continue
            _dotted_set(ctx, var, consts[0] if consts else None)
    return ctx


def model_with(model: WorkflowModel, transitions_: list[Transition]) -> str:
    """DSL text of a model made of these transitions (states in order of first use)."""
    from engine.dsl.printer import to_dsl

    states = tuple(dict.fromkeys(s for t in transitions_ for s in (*t.sources, *t.targets)))
    return to_dsl(WorkflowModel(tuple(transitions_), states))


def parse_endpoint(text: str) -> tuple[tuple[str, ...], bool]:
    """A transition end typed in a form: ``state`` or ``[a,b]`` -> (names, is a group)."""
    text = (text or "").strip()
    if not text:
        raise ServiceError("a transition needs a source and a target state")
    if text.startswith("["):
        names = tuple(s.strip() for s in text.strip("[]").split(",") if s.strip())
        is_group = True
    else:
        names, is_group = (text,), False
    for n in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
            raise ServiceError(f"'{n}' is not a valid state name: use letters, digits and _ (e.g. check_stock)")
    if is_group and len(names) < 2:
        raise ServiceError("a [group] needs at least two states, e.g. [check_a,check_b]")
    return names, is_group


def make_transition(source: str, target: str, condition: str = "") -> Transition:
    """A Transition from form fields (source, target, optional condition text)."""
    from engine.dsl.parser import parse_condition

    srcs, sg = parse_endpoint(source)
    dsts, dg = parse_endpoint(target)
    cond: Condition | None = None
    if (condition or "").strip():
        try:
            cond = parse_condition(condition.strip())
        except DSLError as exc:
            raise ServiceError(
                f"the condition is not valid: {exc.issues[0].message}"
                + (f". {exc.issues[0].hint}" if exc.issues[0].hint else "")
            ) from None
    return Transition(srcs, dsts, cond, sg, dg)


def add_transition(dsl: str, source: str, target: str, condition: str = "") -> str:
    """The DSL with one more transition at the end."""
    from engine.dsl.parser import parse

    model = _parse_or_raise(dsl, parse)
    return model_with(model, [*model.transitions, make_transition(source, target, condition)])


def remove_transition(dsl: str, index: int) -> str:
    """The DSL without the transition at ``index``."""
    from engine.dsl.parser import parse

    model = _parse_or_raise(dsl, parse)
    ts = list(model.transitions)
    if not 0 <= index < len(ts):
        raise ServiceError("that transition no longer exists; reload the editor")
    del ts[index]
    return model_with(model, ts)


def replace_transition(dsl: str, index: int, source: str, target: str, condition: str = "") -> str:
    """The DSL with the transition at ``index`` replaced."""
    from engine.dsl.parser import parse

    model = _parse_or_raise(dsl, parse)
    ts = list(model.transitions)
    if not 0 <= index < len(ts):
        raise ServiceError("that transition no longer exists; reload the editor")
    ts[index] = make_transition(source, target, condition)
    return model_with(model, ts)


def rename_state(spec: WorkflowSpec, old: str, new: str) -> WorkflowSpec:
    """Rename a state in the DSL and its binding (and compensation references)."""
    from engine.dsl.parser import parse

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", new or "") or new in (START, END):
        raise ServiceError(f"'{new}' is not a valid state name: letters, digits and _, not start/end")
    model = _parse_or_raise(spec.dsl, parse)
    if new in model.states:
        raise ServiceError(f"there is already a state '{new}'")
    ren = lambda s: new if s == old else s
    ts = [
        Transition(
            tuple(map(ren, t.sources)), tuple(map(ren, t.targets)), t.condition, t.source_is_group, t.target_is_group
        )
        for t in model.transitions
    ]
    states = {}
    for k, b in spec.states.items():
        if b.compensate == old:
            b = b.model_copy(update={"compensate": new})
        states[new if k == old else k] = b
    return spec.model_copy(update={"dsl": model_with(model, ts), "states": states})


def transition_rows(model: WorkflowModel) -> list[dict]:
    """One row per transition for the editor's table: index, text, source, target, condition."""
    from engine.dsl.printer import condition_text, transition_text

    out = []
    for i, t in enumerate(model.transitions):
        out.append(
            {
                "index": i,
                "text": transition_text(t),
                "source": ("[" + ",".join(t.sources) + "]") if t.source_is_group else t.sources[0],
                "target": ("[" + ",".join(t.targets) + "]") if t.target_is_group else t.targets[0],
                "condition": condition_text(t.condition) if t.condition else "",
            }
        )
    return out


def _parse_or_raise(dsl: str, parse) -> WorkflowModel:
    try:
        return parse(dsl)
    except DSLError as exc:
        i = exc.issues[0]
        raise ServiceError(f"fix the DSL first: {i.message} at line {i.line}, column {i.column}") from None


def binding_from_form(values: dict) -> StateBinding:
    """A StateBinding from the editor's form values (empty fields dropped); ServiceError if invalid."""
    from pydantic import ValidationError

    data = {k: v for k, v in values.items() if v not in (None, "", {}, [])}
    for key in ("params", "files", "body", "headers", "resources", "node"):
        raw = data.get(key)
        if isinstance(raw, str):
            try:
                val = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise ServiceError(f"{key} must be a JSON object: {exc.msg} at column {exc.colno}") from None
            except (ValueError, RecursionError):  # an integer of more than 4,300 digits, too deep nesting
                raise ServiceError(
                    f"{key} must be a JSON object of usable values: no integer longer than "
                    "4,300 digits, no deeply nested lists or objects"
                ) from None
            if not isinstance(val, dict):
                raise ServiceError(f'{key} must be a JSON object such as {{"region": "North"}}')
            if val:
                data[key] = val
            else:
                data.pop(key)
    retry = data.pop("retry", None)
    if retry and int(retry.get("max_attempts") or 1) > 1:
        data["retry"] = retry
    try:
        binding = StateBinding.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "binding"
            msgs.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
        raise ServiceError("; ".join(msgs)) from None
    problems = unused_field_problems({"step": binding})
    if problems:
        raise ServiceError(problems[0].removeprefix("states.step: "))
    return binding


def spec_fingerprint(spec: WorkflowSpec) -> str:
    """A short hash of the whole spec (changes whenever anything in it changes)."""
    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
