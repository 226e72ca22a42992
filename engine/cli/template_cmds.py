"""``workbench templates``: the template gallery headless — list the templates of data/templates and
save one to the library (with its [settings], tags, [inputs], schedules and triggers).

Run one directly with ``workbench run data/templates/<id>.toml --context '{…}'``.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import WorkbenchError


def _gallery() -> list[dict]:
    from engine.workbench import drafts

    return drafts.templates()


def template_id(t: dict) -> str:
    """A template's id: its file name without the suffix (``invoice_approval``)."""
    return Path(t["path"]).stem


def find_template(ref: str) -> dict:
    """The template whose id or name is ``ref`` (case-insensitive); WorkbenchError listing the ids."""
    tpls = _gallery()
    want = ref.strip().lower()
    hit = next((t for t in tpls if template_id(t).lower() == want or t["name"].lower() == want), None)
    if hit is None:
        raise WorkbenchError(f"no template '{ref}'; templates: {', '.join(template_id(t) for t in tpls if t['bound'])}")
    return hit


def describe(t: dict) -> dict:
    """One template as JSON-ready facts: id, name, description, tags, steps, inputs, how it starts."""
    spec = t["spec"]
    return {
        "id": template_id(t),
        "name": t["name"],
        "description": t["description"],
        "tags": t["tags"],
        "steps": t["states"],
        "bound": t["bound"],
        "path": t["path"],
        "inputs": {k: v.model_dump(mode="json", exclude_none=True) for k, v in spec.inputs.items()},
        "schedules": [s.model_dump(mode="json", exclude_defaults=True) for s in spec.schedules],
        "triggers": [tr.type for tr in spec.triggers],
    }


def cmd_list(args) -> int:
    rows = [describe(t) for t in _gallery()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        starts = ", ".join([*(f"cron {s.get('cron') or s.get('every')}" for s in r["schedules"]), *r["triggers"]])
        print(
            f"{r['id']:<26} {r['name']:<34} {r['steps']:>3} steps  inputs: {', '.join(r['inputs']) or '-'}"
            + (f"  starts: {starts}" if starts else "")
        )
    return 0


def cmd_show(args) -> int:
    print(json.dumps(describe(find_template(args.template)), indent=2))
    return 0


def cmd_use(args) -> int:
    from engine.store import get_store
    from engine.workbench import library as wb_library

    t = find_template(args.template)
    spec = t["spec"]
    if args.name:
        spec = spec.model_copy(update={"name": args.name})
    wid, version = wb_library.save_workflow(get_store(), spec, change_note=f"from the template {template_id(t)}")
    print(json.dumps({"workflow_id": wid, "version": version, "name": spec.name}))
    return 0


def register(sub) -> None:
    p = sub.add_parser("templates", help="the template gallery: list, show, save one to the library")
    tsub = p.add_subparsers(dest="templates_command", metavar="ACTION")
    ls = tsub.add_parser("list", help="every template with its inputs and how it starts")
    ls.add_argument("--json", action="store_true", help="JSON output")
    ls.set_defaults(func=cmd_list)
    show = tsub.add_parser("show", help="one template's description, inputs, schedules and triggers (JSON)")
    show.add_argument("template", help="template id (file name, e.g. invoice_approval) or name")
    show.set_defaults(func=cmd_show)
    use = tsub.add_parser("use", help="save a template to the library (settings, tags, inputs, schedules kept)")
    use.add_argument("template", help="template id (file name, e.g. invoice_approval) or name")
    use.add_argument("--name", help="name of the saved workflow (default: the template's)")
    use.set_defaults(func=cmd_use)
    p.set_defaults(func=cmd_list, json=False)
