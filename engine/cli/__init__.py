"""The ``workbench`` command line. Each area registers its subcommands from its own module.

Exit codes: 0 success, 1 the operation failed (invalid workflow, failed run…), 2 usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import DSLError, WorkbenchError
from engine.inputs import InputValidationError
from engine.logging_setup import configure_logging

# modules that define ``register(subparsers)``; each adds its commands
_COMMAND_MODULES = [
    "engine.cli.dsl_cmds",
    "engine.cli.run_cmds",
    "engine.cli.ai_cmds",
    "engine.cli.analytics_cmds",
    "engine.cli.serve_cmds",
    "engine.cli.token_cmds",
    "engine.cli.share_cmds",
    "engine.cli.schedule_cmds",
    "engine.cli.secrets_cmds",
    "engine.cli.notify_cmds",
    "engine.cli.logs_cmds",
    "engine.cli.template_cmds",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="AI workflow workbench")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging("WARNING")  # workbench.* warnings on stderr; WORKBENCH_LOG_LEVEL=INFO for more
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except InputValidationError as exc:  # the initial context does not fit the workflow's [inputs]
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DSLError as exc:  # already "FILE:LINE:COL: error: …" with an excerpt and a hint
        print(exc.format(getattr(args, "file", None) or "<dsl>"), file=sys.stderr)
        return 1
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
