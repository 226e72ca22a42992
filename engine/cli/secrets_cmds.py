"""``workbench secrets list|check``: which secrets are defined and where — never their values."""

from __future__ import annotations

import json
import sys


def cmd_secrets(args) -> int:
    """List secret names with their source, or check that a workflow's references are all defined."""
    from engine import secrets

    if args.action == "list":
        rows = secrets.list_secrets()
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print(
                "no secrets defined. Define one with the environment variable WORKBENCH_SECRET_<NAME>, "
                "[workbench.secrets] in .streamlit/secrets.toml, or " + str(secrets.user_secrets_file())
            )
            return 0
        width = max(len(r["name"]) for r in rows)
        print(f"{'name':<{width}}  source")
        for r in rows:
            print(f"{r['name']:<{width}}  {r['source']}")
        return 0
    if not args.file:
        print("workbench secrets check: give a workflow file", file=sys.stderr)
        return 2
    from engine.inputs import secret_references
    from engine.workflow_file import load_workflow

    names = sorted(secret_references(load_workflow(args.file)))
    secrets.check_available(names)  # SecretError: exit 1 with the names and where to define them
    print(f"{len(names)} secret reference(s), all defined: {', '.join(names) or '-'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("secrets", help="secrets used as {secret:NAME}: list names and sources (never values), check")
    p.add_argument("action", choices=["list", "check"])
    p.add_argument("file", nargs="?", help="check: a workflow file whose {secret:NAME} references must be defined")
    p.add_argument("--json", action="store_true", help="list: machine-readable output")
    p.set_defaults(func=cmd_secrets)
