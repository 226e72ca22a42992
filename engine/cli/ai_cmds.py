"""``workbench translate`` and ``workbench explain``.

    workbench translate "validate the order, then ship it"      # the DSL on stdout
    echo "…" | workbench translate - --json                    # also explanation, suggestions, provider…
    workbench explain workflows/orders.toml

Warnings (e.g. "AI model unavailable …; used the offline default") go to stderr. With no
OPENAI_API_KEY / OPENAI_BASE_URL the offline translator and explainer are used.
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.errors import WorkbenchError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "translate",
        help="plain language -> workflow DSL",
        description="Translate a plain-language description into workflow DSL.",
    )
    p.add_argument("text", help="the description, or '-' to read it from standard input")
    p.add_argument(
        "--json",
        action="store_true",
        help="print dsl, explanation, suggestions, bindings, provider, warnings and valid as JSON",
    )
    p.add_argument("--offline", action="store_true", help="use the offline translator even if a model is configured")
    p.set_defaults(func=_translate)

    e = subparsers.add_parser(
        "explain",
        help="explain a workflow in plain language",
        description="Explain a workflow file (.toml or .dsl, or '-' for stdin) in plain language.",
    )
    e.add_argument("file", help="workflow file (.toml or .dsl) or '-'")
    e.add_argument("--offline", action="store_true", help="use the offline explainer even if a model is configured")
    e.set_defaults(func=_explain)


def _settings(offline: bool):
    from engine.ai.settings import AISettings

    return AISettings.from_env(force_offline=True) if offline else AISettings.from_env()


def _services(offline: bool):
    from engine.ai.translator import get_ai

    settings = _settings(offline)
    store = None
    if settings.online:
        try:
            from engine.store import get_store

            store = get_store()
        except Exception as exc:  # translation still works without records
            print(f"warning: AI calls will not be recorded ({exc})", file=sys.stderr)
            store = False
    ai = get_ai(settings, store or None)
    if store is False:
        ai.llm._store = False
    return ai


def _read(arg: str) -> str:
    if arg == "-":
        return sys.stdin.read()
    return arg


def _translate(args: argparse.Namespace) -> int:
    text = _read(args.text)
    if not text.strip():
        print("error: the description is empty", file=sys.stderr)
        return 2
    ai = _services(args.offline)
    tr = ai.translator.translate(text)
    for w in tr.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(tr.to_dict(), indent=2))
    else:
        sys.stdout.write(tr.dsl if tr.dsl.endswith("\n") else tr.dsl + "\n")
    return 0 if tr.valid else 1


def _explain(args: argparse.Namespace) -> int:
    from engine.workflow_file import load_workflow, parse_workflow_text

    if args.file == "-":
        spec = parse_workflow_text(sys.stdin.read(), "-")
    else:
        spec = load_workflow(args.file)
    try:
        spec.model
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ai = _services(args.offline)
    bindings = {k: b.model_dump(mode="json", exclude_none=True) for k, b in spec.states.items()}
    text = ai.translator.explain(spec.dsl, bindings=bindings)
    if spec.name and spec.name != "Untitled workflow":
        print(f"{spec.name}\n")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
