"""``workbench validate`` and ``workbench graph``: check a workflow and draw it.

FILE is a bare DSL file (``.dsl``), a TOML workflow file (``.toml``) or ``-`` for standard input
(TOML when it has a ``dsl = …`` key, DSL otherwise; ``--input-format`` forces one).

Positions: for a TOML file whose ``dsl`` string holds the DSL verbatim (any string without escape
sequences, e.g. a ``'''…'''`` or ``\"\"\"…\"\"\"`` block) positions are mapped to lines and columns of the
TOML file itself. Otherwise they are relative to the DSL string and printed as ``FILE (dsl):L:C``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from engine.dsl.graph import to_dot, to_json, to_mermaid
from engine.dsl.model import WorkflowModel
from engine.dsl.parser import excerpt
from engine.dsl.validate import analyze, check
from engine.errors import DSLError, Issue, ValidationReport
from engine.workflow_file import WorkflowFileError, WorkflowSpec, parse_workflow_text

_DSL_KEY = re.compile(r"""^[ \t]*dsl[ \t]*=[ \t]*("\"\"|'''|"|')""", re.M)


@dataclass
class _Source:
    """A workflow read for the CLI: where it came from, its text and how to report positions."""

    display: str  # the name printed in front of positions
    text: str  # the whole input (DSL or TOML)
    kind: str  # "dsl" | "toml"
    spec: WorkflowSpec | None = None
    origin: tuple[int, int] | None = None  # (line, column) in ``text`` where the DSL string starts

    @property
    def dsl(self) -> str:
        return self.spec.dsl if self.spec is not None else self.text

    def place(self, issue: Issue) -> tuple[Issue, str]:
        """The issue with positions as printed, and the name to print in front of them."""
        if self.kind == "dsl" or issue.line is None:
            return issue, self.display
        if self.origin is None:
            return issue, f"{self.display} (dsl)"
        line0, col0 = self.origin
        line = line0 + issue.line - 1
        col = issue.column + (col0 - 1 if issue.line == 1 else 0)
        return replace(issue, line=line, column=col, excerpt=excerpt(self.text, line, col)), self.display

    def relative_to(self) -> str:
        return "file" if self.kind == "dsl" or self.origin is not None else "dsl"


def _dsl_origin(file_text: str, dsl: str) -> tuple[int, int] | None:
    """Where the TOML ``dsl`` value starts in the file, when the file holds it verbatim."""
    for m in _DSL_KEY.finditer(file_text):
        start = m.end()
        if len(m.group(1)) == 3:  # a newline right after an opening triple quote is not part of the string
            if file_text.startswith("\r\n", start):
                start += 2
            elif file_text.startswith("\n", start):
                start += 1
        if file_text[start : start + len(dsl)] == dsl:
            line = file_text.count("\n", 0, start) + 1
            return line, start - (file_text.rfind("\n", 0, start) + 1) + 1
    return None


def _read(file: str, input_format: str) -> _Source:
    """Read FILE (or stdin for '-'). Raises WorkflowFileError with a readable message."""
    if file == "-":
        display = "<stdin>"
        try:
            text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkflowFileError(f"{display}: not UTF-8 text: {exc}") from None
        suffix = ""
    else:
        path = Path(file)
        display = file
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise WorkflowFileError(f"{file}: no such file") from None
        except IsADirectoryError:
            raise WorkflowFileError(f"{file}: is a directory") from None
        except PermissionError:
            raise WorkflowFileError(f"{file}: permission denied") from None
        except UnicodeDecodeError as exc:
            raise WorkflowFileError(f"{file}: not UTF-8 text: {exc}") from None
        except OSError as exc:  # name too long, symlink loop, device errors…
            raise WorkflowFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
        suffix = path.suffix.lower()
    fmt = None if input_format == "auto" else input_format
    if fmt is None:
        fmt = "toml" if suffix == ".toml" else "dsl" if suffix == ".dsl" else None
    if fmt is None:
        fmt = "toml" if re.search(r"^\s*dsl\s*=", text, re.M) else "dsl"
    if fmt == "dsl":
        return _Source(display, text, "dsl")
    spec = parse_workflow_text(text, display, "toml")
    return _Source(display, text, "toml", spec, _dsl_origin(text, spec.dsl))


def _check(src: _Source) -> tuple[WorkflowModel | None, ValidationReport]:
    """Parse and validate; syntax errors come back as errors of the report (model None)."""
    try:
        if src.spec is not None:
            model = src.spec.model
            return model, src.spec.validate_all()
        return check(src.text)
    except DSLError as exc:
        return None, ValidationReport(errors=list(exc.issues))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _issue_dict(src: _Source, issue: Issue) -> dict:
    placed, name = src.place(issue)
    d = placed.to_dict()
    d["excerpt"] = placed.excerpt
    d["location"] = placed.location(name)
    d["relative_to"] = src.relative_to()
    if src.kind == "toml":
        d["dsl_line"], d["dsl_column"] = issue.line, issue.column
    return d


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        src = _read(args.file, args.input_format)
    except WorkflowFileError as exc:
        if args.json:
            print(
                json.dumps(
                    {
                        "ok": False,
                        "file": args.file,
                        "states": None,
                        "transitions": None,
                        "parallel_groups": None,
                        "errors": [
                            {
                                "severity": "error",
                                "code": "workflow_file",
                                "message": str(exc),
                                "line": None,
                                "column": None,
                                "hint": "",
                                "excerpt": "",
                                "location": args.file,
                                "relative_to": "file",
                            }
                        ],
                        "warnings": [],
                    },
                    indent=2,
                )
            )
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    model, rep = _check(src)
    groups = len(analyze(model).groups) if model is not None else None
    if args.json:
        print(
            json.dumps(
                {
                    "ok": rep.ok,
                    "file": src.display,
                    "states": len(model.states) if model is not None else None,
                    "transitions": len(model.transitions) if model is not None else None,
                    "parallel_groups": groups,
                    "errors": [_issue_dict(src, i) for i in rep.errors],
                    "warnings": [_issue_dict(src, i) for i in rep.warnings],
                },
                indent=2,
            )
        )
        return 0 if rep.ok else 1
    for issue in (*rep.errors, *rep.warnings):
        placed, name = src.place(issue)
        print(placed.format(name), file=sys.stderr)
    if rep.ok:
        assert model is not None
        print(
            f"OK: {_plural(len(model.states), 'state')}, {_plural(len(model.transitions), 'transition')}"
            + (f" ({_plural(len(rep.warnings), 'warning')})" if rep.warnings else "")
        )
        return 0
    print(
        f"{src.display}: {_plural(len(rep.errors), 'error')}, {_plural(len(rep.warnings), 'warning')}", file=sys.stderr
    )
    return 1


def cmd_graph(args: argparse.Namespace) -> int:
    try:
        src = _read(args.file, args.input_format)
    except WorkflowFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    model, rep = _check(src)
    if model is None:
        for issue in rep.errors:
            placed, name = src.place(issue)
            print(placed.format(name), file=sys.stderr)
        return 1
    if rep.errors:
        print(
            f"warning: {src.display} has {_plural(len(rep.errors), 'validation error')}; the graph is drawn "
            f"anyway (run 'workbench validate {args.file}' for details)",
            file=sys.stderr,
        )
    render = {"json": to_json, "mermaid": to_mermaid, "dot": to_dot}[args.format]
    out = render(model)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


def register(subparsers) -> None:
    """Add ``validate`` and ``graph`` to the ``workbench`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="a .dsl file, a .toml workflow file, or - to read stdin")
    common.add_argument(
        "--input-format",
        choices=["auto", "dsl", "toml"],
        default="auto",
        help="how to read FILE (default: by suffix; for stdin, TOML when it has a 'dsl =' key)",
    )

    p = subparsers.add_parser(
        "validate",
        parents=[common],
        help="check a workflow: syntax, structure, warnings",
        description="Check a workflow. Prints 'OK: N states, M transitions' and exits 0, or prints every "
        "error as FILE:LINE:COL: error: message (with an excerpt and a hint) on stderr and exits 1. "
        "Warnings never change the exit code. Exit 2: usage error.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object {ok, states, transitions, parallel_groups, errors, warnings}",
    )
    p.set_defaults(func=cmd_validate)

    g = subparsers.add_parser(
        "graph",
        parents=[common],
        help="print a workflow's graph as JSON, Mermaid or Graphviz DOT",
        description="Print the workflow graph. Exits 1 when the DSL does not parse; a parsed workflow with "
        "validation errors is still drawn (with a warning on stderr).",
    )
    g.add_argument("--format", choices=["json", "mermaid", "dot"], default="json", help="output format (default json)")
    g.set_defaults(func=cmd_graph)
