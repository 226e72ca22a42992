"""Read models and small helpers for the Streamlit workbench (``app/``): the pages hold UI only.

Everything here is plain Python over the public engine pieces (``engine.api``, ``engine.runner``,
``engine.library``, ``engine.ai``, ``engine.dsl``) and the store's views, so it is testable without
Streamlit. SQL used by the pages lives here, not in the pages.
"""
from __future__ import annotations

import ast
import copy
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.dsl.model import END, START, Condition, Transition, WorkflowModel
from engine.errors import DSLError, Issue, WorkbenchError
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import StateBinding, WorkflowSpec, load_workflow

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "data" / "templates"
LIVE_STATUSES = ("pending", "running", "recovering", "waiting")


class ServiceError(WorkbenchError):
    """A workbench action could not be done; the message says what to do."""


# --------------------------------------------------------------------------------- JSON helpers
def loads(value: Any, default: Any = None) -> Any:
    """JSON text from the store (or an already-decoded value) as Python."""
    if value is None:
        return default
    if isinstance(value, (dict, list, int, float, bool)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def parse_context_json(text: str) -> dict:
    """The initial context typed by a user; raises ServiceError with line/column on bad JSON."""
    from engine.context_input import ContextInputError, parse_context_text

    try:
        return parse_context_text(text or "", what="the initial context")
    except ContextInputError as exc:  # also huge integers, deep nesting, NaN, lone surrogates
        raise ServiceError(str(exc)) from None


# --------------------------------------------------------------------------------- DSL checks
@dataclass
class DslCheck:
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
        return DslCheck(False, [{"severity": "error", "code": "empty", "message": "the DSL is empty",
                                 "line": None, "column": None, "hint": "start with 'start->first_step;'",
                                 "where": "", "excerpt": ""}])
    try:
        model, rep = check(text)
    except DSLError as exc:
        return DslCheck(False, [_issue_dict(i) for i in exc.issues])
    graph = to_graph(model)
    return DslCheck(not rep.errors, [_issue_dict(i) for i in rep.errors], [_issue_dict(i) for i in rep.warnings],
                    model, graph)


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


# --------------------------------------------------------------------------------- templates
def templates() -> list[dict]:
    """The template gallery: every workflow file under data/templates (TOML first, then bare DSL)."""
    out = []
    files = sorted(TEMPLATES_DIR.glob("*.toml")) + sorted(TEMPLATES_DIR.glob("*.dsl"))
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
        out.append({"name": spec.name, "description": spec.description, "tags": list(spec.tags),
                    "path": str(p), "spec": spec, "states": len(spec.model.states) - 2,
                    "bound": p.suffix == ".toml"})
    return out


# --------------------------------------------------------------------------------- AI layer
def _ai(settings=None, store=None):
    from engine.ai import get_ai  # the AI layer's factory

    return get_ai(settings=settings, store=store)


def ai_settings(base_url: str | None = None, model: str | None = None, secrets: dict | None = None,
                **overrides):
    """AISettings from the environment, with the key from ``secrets`` when the environment has none.

    The key is held in a Secret and never returned by this module.
    """
    from engine.ai.settings import AISettings

    env = dict(os.environ)
    if not env.get("OPENAI_API_KEY") and secrets and secrets.get("OPENAI_API_KEY"):
        env["OPENAI_API_KEY"] = str(secrets["OPENAI_API_KEY"])
    if not env.get("OPENAI_BASE_URL") and secrets and secrets.get("OPENAI_BASE_URL"):
        env["OPENAI_BASE_URL"] = str(secrets["OPENAI_BASE_URL"])
    if base_url is not None:
        env["OPENAI_BASE_URL"] = base_url.strip()
    if model:
        env["WORKBENCH_LLM_MODEL"] = model.strip()
    return AISettings.from_env(env, **overrides)


def key_source(secrets: dict | None = None) -> str:
    """Where the API key comes from (never the key itself)."""
    if os.environ.get("OPENAI_API_KEY"):
        return "environment (OPENAI_API_KEY)"
    if secrets and secrets.get("OPENAI_API_KEY"):
        return ".streamlit/secrets.toml"
    return "not set"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def translate(text: str, settings=None, store=None) -> dict:
    """Plain language -> {dsl, explanation, suggestions, bindings, provider, warnings, valid, check}."""
    if not (text or "").strip():
        raise ServiceError("describe the workflow first, e.g. 'validate the order, then check stock; "
                           "if everything is available reserve it, otherwise notify the customer'")
    res = _ai(settings, store).translator.translate(text)
    out = {k: _get(res, k) for k in ("dsl", "explanation", "suggestions", "bindings", "provider", "warnings",
                                     "valid")}
    out["suggestions"] = [s if isinstance(s, str) else str(_get(s, "text") or _get(s, "title") or s)
                          for s in (out.get("suggestions") or [])]
    out["warnings"] = [str(w) for w in (out.get("warnings") or [])]
    out["bindings"] = _bindings_dict(out.get("bindings"))
    chk = check_dsl(out.get("dsl") or "")
    out["valid"] = chk.ok
    out["check"] = chk
    if not out.get("explanation") and chk.ok:
        out["explanation"] = explain(out["dsl"], settings=settings, store=store)
    return out


def _bindings_dict(raw: Any) -> dict[str, dict]:
    if not raw:
        return {}
    out = {}
    items = raw.items() if isinstance(raw, dict) else ((_get(b, "state"), b) for b in raw)
    for state, b in items:
        if not state:
            continue
        if isinstance(b, StateBinding):
            out[state] = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        elif hasattr(b, "model_dump"):
            out[state] = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        elif isinstance(b, dict):
            out[state] = {k: v for k, v in b.items() if k != "state"}
    return out


def explain(dsl: str, settings=None, store=None) -> str:
    """A plain-language explanation of a valid workflow ('' when the AI layer cannot explain it)."""
    try:
        ai = _ai(settings, store)
    except ImportError:
        return ""
    fn = getattr(ai, "explain", None) or getattr(getattr(ai, "explainer", None), "explain", None)
    if fn is None:
        return ""
    try:
        res = fn(dsl)
    except WorkbenchError:
        return ""
    if isinstance(res, str):
        return res
    return str(_get(res, "text") or _get(res, "explanation") or "")


def spec_from_translation(tr: dict, name: str, description: str = "", tags: list[str] | None = None,
                          nl_description: str = "") -> WorkflowSpec:
    """A WorkflowSpec from a translation; proposed bindings that do not validate are dropped."""
    states: dict[str, StateBinding] = {}
    for state, b in (tr.get("bindings") or {}).items():
        try:
            states[state] = StateBinding.model_validate(b)
        except Exception:
            continue
    return WorkflowSpec(name=name.strip() or "Untitled workflow", description=description, tags=tags or [],
                        dsl=tr["dsl"], states=states, nl_description=nl_description)


def parse_tags(text: str) -> list[str]:
    return [t.strip() for t in re.split(r"[,\n]", text or "") if t.strip()]


# --------------------------------------------------------------------------------- library
def _lib():
    from engine import library

    return library


def list_workflows(store, status: str | None = None, tag: str | None = None, text: str | None = None) -> list[dict]:
    rows = _lib().list_workflows(store, status=status or None, tag=tag or None, text=text or None)
    out = []
    for r in rows:
        r = dict(r)
        r["tags"] = loads(r.get("tags"), []) or []
        out.append(r)
    return out


def save_workflow(store, spec: WorkflowSpec, workflow_id: str | None = None, change_note: str = "") -> tuple[str, int]:
    rep = spec.validate_all()
    if rep.errors:
        first = rep.errors[0]
        where = f" (line {first.line}, column {first.column})" if first.line else ""
        raise ServiceError(f"cannot save: {first.message}{where}" + (f". {first.hint}" if first.hint else ""))
    return _lib().save_workflow(store, spec, workflow_id=workflow_id, change_note=change_note)


def get_workflow(store, id_or_name: str, version: int | None = None) -> tuple[WorkflowSpec, dict]:
    return _lib().get_workflow(store, id_or_name, version)


def list_versions(store, workflow_id: str) -> list[dict]:
    return [dict(r) for r in _lib().list_versions(store, workflow_id)]


def archive_workflow(store, workflow_id: str):
    return _lib().archive_workflow(store, workflow_id)


def diff_versions(store, workflow_id: str, v1: int, v2: int) -> str:
    return _lib().diff_versions(store, workflow_id, v1, v2)


def all_tags(workflows: list[dict]) -> list[str]:
    return sorted({t for w in workflows for t in (w.get("tags") or [])})


# --------------------------------------------------------------------------------- run inputs
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
    reads, writes = set(), set()
    for n in ast.walk(func):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == ctx \
                and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str):
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


def run_options(timeout_s: float | None = None, ai_decisions: bool | None = None, auto_recovery: bool | None = None,
                decision_threshold: int | None = None, max_steps: int | None = None):
    from engine.runner import RunOptions

    return RunOptions(timeout_s=timeout_s or None, max_steps=max_steps or None, ai_decisions=ai_decisions,
                      auto_recovery=auto_recovery, decision_threshold=decision_threshold)


def start_run(engine, spec: WorkflowSpec, context: dict, options, workflow_id: str | None = None,
              version: int | None = None) -> str:
    """Start a run pinned to a library version (saving one when the spec has none)."""
    if workflow_id is None or version is None:
        from engine.api import ensure_version

        workflow_id, version = ensure_version(spec, engine.store)
    return engine.start(spec, context, options, workflow_id=workflow_id, version=int(version))


# --------------------------------------------------------------------------------- executions
def executions(store, workflow: str | None = None, status: str | None = None, text: str | None = None,
               since: dt.datetime | None = None, limit: int = 200) -> list[dict]:
    sql = ("SELECT execution_id, workflow_id, workflow_name, version, status, current_state, error_count, "
           "retry_count, start_time, end_time, duration_ms, error_message, owner, rerun_of, rerun_from "
           "FROM workflow_executions WHERE parent_execution_id IS NULL")
    params: list[Any] = []
    if workflow:
        sql += " AND (workflow_name = ? OR workflow_id = ?)"
        params += [workflow, workflow]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if text:
        sql += " AND (execution_id ILIKE ? OR workflow_name ILIKE ? OR coalesce(error_message, '') ILIKE ?)"
        params += [f"%{text}%"] * 3
    if since is not None:
        sql += " AND start_time >= ?"
        params.append(since)
    sql += " ORDER BY start_time DESC LIMIT ?"
    params.append(int(limit))
    return store.query(sql, params)


def workflow_names(store) -> list[str]:
    return [r["workflow_name"] for r in store.query(
        "SELECT DISTINCT workflow_name FROM workflow_executions WHERE workflow_name IS NOT NULL ORDER BY 1")]


def execution(store, execution_id: str) -> dict | None:
    rows = store.query("SELECT * FROM workflow_executions WHERE execution_id = ?", [execution_id])
    if not rows:
        return None
    ex = dict(rows[0])
    for k in ("initial_context", "final_context", "states_visited", "recovery_actions", "ai_decisions",
              "waiting_for", "options"):
        ex[k] = loads(ex.get(k))
    return ex


def transitions(store, execution_id: str) -> list[dict]:
    return store.query("SELECT * FROM state_transitions WHERE execution_id = ? ORDER BY timestamp, started_at",
                       [execution_id])


def audit_log(store, execution_id: str, include_debug: bool = False) -> list[dict]:
    sql = "SELECT timestamp, level, state, event_type, message FROM audit_logs WHERE execution_id = ?"
    if not include_debug:
        sql += " AND level <> 'debug'"
    return store.query(sql + " ORDER BY timestamp", [execution_id])


def recovery_actions(store, execution_id: str) -> list[dict]:
    return store.query("SELECT timestamp, error_state, error_type, error_class, error_message, recovery_strategy, "
                       "chosen_by, reasoning, ai_reasoning, attempt, success, recovery_duration_ms "
                       "FROM recovery_actions WHERE execution_id = ? ORDER BY timestamp", [execution_id])


def open_requests(store, execution_id: str) -> list[dict]:
    rows = store.query("SELECT request_id, state, kind, prompt, options, details, created_at FROM human_requests "
                       "WHERE execution_id = ? AND status = 'open' ORDER BY created_at", [execution_id])
    for r in rows:
        r["options"] = loads(r.get("options"), []) or []
        r["details"] = loads(r.get("details"), {}) or {}
    return rows


def ai_decisions(store, execution_id: str, exec_row: dict | None = None) -> list[dict]:
    """AI decisions of a run: the decision service's records, else the run's own summary."""
    rows = []
    try:
        rows = store.query("SELECT timestamp, state, condition, result, confidence, reasoning, provider, decided_by "
                           "FROM ai_decisions WHERE execution_id = ? ORDER BY timestamp", [execution_id])
    except WorkbenchError:
        rows = []
    if rows:
        return rows
    ex = exec_row if exec_row is not None else execution(store, execution_id)
    return [dict(d) for d in ((ex or {}).get("ai_decisions") or [])]


def _owner_alive(engine, owner: str | None) -> bool:
    check = getattr(engine, "_owner_alive", None)
    return True if check is None else bool(check(owner))


def interrupted_runs(engine, limit: int = 50) -> list[dict]:
    """Runs no live process drives any more (the app or a CLI stopped): they can be resumed."""
    rows = engine.store.query(
        "SELECT execution_id, workflow_name, version, status, current_state, start_time, updated_at, owner "
        "FROM workflow_executions WHERE status IN ('pending','running','recovering','waiting') "
        "AND parent_execution_id IS NULL ORDER BY start_time DESC LIMIT ?", [int(limit) * 4])
    live = set(engine.live_executions())
    out = []
    for r in rows:
        if r["execution_id"] in live or _owner_alive(engine, r.get("owner")):
            continue
        r["resumable"] = True
        out.append(r)
    return out[:limit]


def can_resume(engine, exec_row: dict) -> bool:
    return (exec_row.get("status") in LIVE_STATUSES and exec_row["execution_id"] not in engine.live_executions()
            and not _owner_alive(engine, exec_row.get("owner")))


def is_live(exec_row: dict | None) -> bool:
    return bool(exec_row) and exec_row.get("status") not in FINISHED_STATUSES


# --------------------------------------------------------------------------------- graph status
def _targets(text: str | None) -> list[str]:
    if not text:
        return []
    if text.startswith("["):
        return [s.strip() for s in text.strip("[]").split(",") if s.strip()]
    return [text]


def node_statuses(trans: list[dict], exec_row: dict | None = None, requests: list[dict] | None = None) -> dict[str, str]:
    """State -> completed | failed | running | waiting | skipped | retrying (pending when absent).

    ``running``: the state a token moved to and has not recorded yet (the frontier of each branch).
    """
    status: dict[str, str] = {}
    frontier: dict[str, set[str]] = {}
    for t in trans:
        s, tok = t["from_state"], t.get("token") or "0"
        st = t["status"]
        if s and s.startswith("["):  # a join record
            for e in _targets(s):
                status.setdefault(e, "completed")
        elif st in ("completed", "fallback"):
            status[s] = "completed"
        elif st == "skipped":
            status[s] = "skipped"
        elif st == "failed":
            status[s] = "failed"
        elif st == "decision":
            status.setdefault(s, "completed")
        if st != "failed":
            # recorded: no longer pending in this token or any token it branched from
            anc = tok
            while True:
                frontier.get(anc, set()).discard(s)
                if "." not in anc:
                    break
                anc = anc.rsplit(".", 1)[0]
            for nxt in _targets(t.get("to_state")):
                frontier.setdefault(tok, set()).add(nxt)
    finished = exec_row is not None and exec_row.get("status") in FINISHED_STATUSES
    if not finished:
        for states in frontier.values():
            for s in states:
                if s != END:
                    status[s] = "retrying" if status.get(s) == "failed" else "running"
        if exec_row and exec_row.get("status") == "recovering" and exec_row.get("current_state"):
            status[exec_row["current_state"]] = "retrying"
    for r in requests or []:
        status[r["state"]] = "waiting"
    if trans:
        status[START] = "completed"
    if exec_row and exec_row.get("status") == "completed":
        status[END] = "completed"
    elif exec_row and exec_row.get("status") in ("failed", "cancelled"):
        for s, v in list(status.items()):
            if v in ("running", "retrying"):
                status[s] = "cancelled" if exec_row["status"] == "cancelled" else "failed"
    return status


# --------------------------------------------------------------------------------- timeline
def token_lane(token: str, fork_targets: dict[str, list[str]] | None = None) -> str:
    """A readable lane name for a token: 'main', 'branch 2 (south_sales)'…"""
    if not token or token == "0":
        return "main"
    if token.endswith("~comp"):
        return "compensation"
    last = token.rsplit(".", 1)[-1]
    fork_no, _, branch = last.partition("-")
    name = ""
    if fork_targets:
        starts = fork_targets.get(token)
        if starts:
            name = f" ({starts[0]})"
    depth = token.count(".")
    prefix = "  " * (depth - 1)
    return f"{prefix}branch {branch}{name}" if branch else f"{prefix}{token}"


def timeline_rows(trans: list[dict], now: dt.datetime | None = None, exec_row: dict | None = None) -> list[dict]:
    """One bar per recorded state run (attempts included): lane (token), state, start, end, status."""
    rows = []
    first_state: dict[str, str] = {}
    for t in trans:
        tok = t.get("token") or "0"
        s = t["from_state"]
        if t["status"] in ("decision",) or (s or "").startswith("[") or s == START:
            continue
        first_state.setdefault(tok, s)
        start = t.get("started_at") or t.get("timestamp")
        end = t.get("ended_at") or start
        if start is None:
            continue
        if end is not None and start is not None and end <= start:
            end = start + dt.timedelta(milliseconds=max(float(t.get("duration_ms") or 0), 2))
        rows.append({"token": tok, "state": s, "start": start, "end": end, "status": t["status"],
                     "attempt": t.get("attempt") or 1, "duration_ms": round(float(t.get("duration_ms") or 0), 1),
                     "executed_on": t.get("executed_on") or "", "error": t.get("error_message") or ""})
    lanes = {tok: token_lane(tok, {tok: [first_state[tok]]}) for tok in first_state}
    for r in rows:
        r["lane"] = lanes.get(r["token"], r["token"])
    return rows


def token_sort_key(tok: str):
    """Numeric order of token ids (``0.1-2`` before ``0.1-10``): :func:`engine.merge.token_sort_key`."""
    from engine.merge import token_sort_key as key

    return key(tok)


# --------------------------------------------------------------------------------- context replay
def context_steps(initial: dict | None, trans: list[dict]) -> list[dict]:
    """The context after each recorded step, rebuilt by replaying the recorded updates per branch.

    Uses :class:`engine.merge.ContextReplay`, the runner's own merge rule: each branch starts from a
    copy of its parent's context at the fork; a join merges the keys the branches wrote in branch
    order (the first branch's value is kept, conflicts listed in ``_conflicts``) plus the join's updates.
    """
    from engine.merge import ContextReplay

    replay = ContextReplay(copy.deepcopy(initial or {}))
    steps = []
    for t in trans:
        if replay.apply(t) is None:
            continue
        tok = t.get("token") or "0"
        updates = loads(t.get("context_snapshot"), {}) or {}
        steps.append({"step": len(steps) + 1, "state": t["from_state"], "token": tok, "status": t["status"],
                      "to_state": t.get("to_state"), "updates": updates,
                      "context": copy.deepcopy(replay.context(tok))})
    return steps


# --------------------------------------------------------------------------------- model edits
def model_with(model: WorkflowModel, transitions_: list[Transition]) -> str:
    from engine.dsl.printer import to_dsl

    states = tuple(dict.fromkeys(s for t in transitions_ for s in (*t.sources, *t.targets)))
    return to_dsl(WorkflowModel(tuple(transitions_), states))


def parse_endpoint(text: str) -> tuple[tuple[str, ...], bool]:
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
    from engine.dsl.parser import parse_condition

    srcs, sg = parse_endpoint(source)
    dsts, dg = parse_endpoint(target)
    cond: Condition | None = None
    if (condition or "").strip():
        try:
            cond = parse_condition(condition.strip())
        except DSLError as exc:
            raise ServiceError(f"the condition is not valid: {exc.issues[0].message}"
                               + (f". {exc.issues[0].hint}" if exc.issues[0].hint else "")) from None
    return Transition(srcs, dsts, cond, sg, dg)


def add_transition(dsl: str, source: str, target: str, condition: str = "") -> str:
    from engine.dsl.parser import parse

    model = _parse_or_raise(dsl, parse)
    return model_with(model, [*model.transitions, make_transition(source, target, condition)])


def remove_transition(dsl: str, index: int) -> str:
    from engine.dsl.parser import parse

    model = _parse_or_raise(dsl, parse)
    ts = list(model.transitions)
    if not 0 <= index < len(ts):
        raise ServiceError("that transition no longer exists; reload the editor")
    del ts[index]
    return model_with(model, ts)


def replace_transition(dsl: str, index: int, source: str, target: str, condition: str = "") -> str:
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
    ren = (lambda s: new if s == old else s)
    ts = [Transition(tuple(map(ren, t.sources)), tuple(map(ren, t.targets)), t.condition, t.source_is_group,
                     t.target_is_group) for t in model.transitions]
    states = {}
    for k, b in spec.states.items():
        if b.compensate == old:
            b = b.model_copy(update={"compensate": new})
        states[new if k == old else k] = b
    return spec.model_copy(update={"dsl": model_with(model, ts), "states": states})


def transition_rows(model: WorkflowModel) -> list[dict]:
    from engine.dsl.printer import condition_text, transition_text

    out = []
    for i, t in enumerate(model.transitions):
        out.append({"index": i, "text": transition_text(t),
                    "source": ("[" + ",".join(t.sources) + "]") if t.source_is_group else t.sources[0],
                    "target": ("[" + ",".join(t.targets) + "]") if t.target_is_group else t.targets[0],
                    "condition": condition_text(t.condition) if t.condition else ""})
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
    for key in ("params", "files", "body", "headers"):
        raw = data.get(key)
        if isinstance(raw, str):
            try:
                val = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as exc:
                raise ServiceError(f"{key} must be a JSON object: {exc.msg} at column {exc.colno}") from None
            except (ValueError, RecursionError):  # an integer of more than 4,300 digits, too deep nesting
                raise ServiceError(f"{key} must be a JSON object of usable values: no integer longer than "
                                   "4,300 digits, no deeply nested lists or objects") from None
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
        return StateBinding.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "binding"
            msgs.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
        raise ServiceError("; ".join(msgs)) from None


# --------------------------------------------------------------------------------- settings page
def cluster_details(engine) -> dict:
    """Cluster status plus address/resources when Ray is connected (never starts Ray)."""
    st = dict(engine.cluster_status())
    st.update(address=None, resources={}, nodes=0, mode=None)
    if st.get("ready") and st.get("kind") == "ray":
        try:
            from ray_tasks import cluster

            info = cluster.info()
            if info is not None:
                st.update(address=info.address, resources=info.resources, nodes=info.nodes, mode=info.mode,
                          dashboard_url=st.get("dashboard_url") or info.dashboard_url)
        except Exception as exc:  # a dead cluster: report it
            st["error"] = st.get("error") or f"Ray stopped answering: {exc}"
    st["configured_address"] = os.environ.get("RAY_ADDRESS") or "auto (local head, else a new local Ray)"
    return st


def store_details(store) -> dict:
    try:
        counts = store.counts()
    except WorkbenchError as exc:
        counts = {"error": str(exc)}
    return {"path": str(store.path), "log_dir": str(getattr(store, "log_dir", "")), "counts": counts}


def llm_spend(settings=None, store=None) -> dict:
    """Spend today (all workflows) from llm_calls; {} when unknown."""
    try:
        rows = store.query("SELECT coalesce(sum(cost_usd), 0) AS usd, count(*) AS calls, "
                           "count(*) FILTER (WHERE cache_hit) AS hits FROM llm_calls "
                           "WHERE timestamp >= current_date")
        return rows[0] if rows else {}
    except Exception:
        return {}


def last_initial_context(store, workflow_id: str | None) -> dict | None:
    """The initial context of the newest run of a workflow (to prefill the next run)."""
    if not workflow_id:
        return None
    rows = store.query("SELECT initial_context FROM workflow_executions WHERE workflow_id = ? "
                       "AND parent_execution_id IS NULL AND rerun_of IS NULL ORDER BY start_time DESC LIMIT 1",
                       [workflow_id])
    return loads(rows[0]["initial_context"], None) if rows else None


def runs_needing_attention(store, limit: int = 20) -> list[dict]:
    """Runs waiting for a person (approvals, low-confidence decisions, escalations)."""
    return store.query("SELECT e.execution_id, e.workflow_name, e.version, e.status, e.start_time, "
                       "count(h.request_id) AS open_requests FROM workflow_executions e JOIN human_requests h "
                       "ON h.execution_id = e.execution_id AND h.status = 'open' WHERE e.status = 'waiting' "
                       "GROUP BY ALL ORDER BY e.start_time DESC LIMIT ?", [int(limit)])


def answer_request(engine, execution_id: str, state: str, value: str, by: str = "app") -> str:
    """Deliver a person's answer; resumes the run here when no live process drives it."""
    info = engine.answer(execution_id, state, value, by=by)
    if info.get("delivered") == "resume":
        engine.resume(execution_id)
        return "resumed"
    return info.get("delivered", "stored")


def recent_runs(store, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    return store.query("SELECT execution_id, workflow_name, version, status, start_time FROM workflow_executions "
                       "WHERE execution_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY start_time DESC", [list(ids)])


def workflow_labels(workflows: list[dict]) -> dict[str, str]:
    """workflow_id -> a label unique among ``workflows`` (the id is added when names repeat)."""
    from collections import Counter

    names = Counter((w.get("name") or w["workflow_id"]) for w in workflows)
    return {w["workflow_id"]: (w.get("name") or w["workflow_id"]) if names[w.get("name") or w["workflow_id"]] == 1
            else f"{w.get('name')} ({w['workflow_id']})" for w in workflows}


def spec_fingerprint(spec: WorkflowSpec) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
