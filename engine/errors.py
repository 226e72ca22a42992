"""Error types shared by the workbench. Every message is meant to be read by a user."""

from __future__ import annotations

from dataclasses import dataclass, field


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose (never a raw traceback for users)."""


@dataclass(frozen=True)
class Issue:
    """One validation finding, with an optional source position, excerpt and fix hint."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    line: int | None = None
    column: int | None = None
    hint: str = ""
    excerpt: str = ""

    def location(self, filename: str = "<dsl>") -> str:
        if self.line is None:
            return filename
        return f"{filename}:{self.line}:{self.column}"

    def format(self, filename: str = "<dsl>") -> str:
        """``FILE:LINE:COL: message`` followed by the excerpt with a caret and the hint."""
        head = f"{self.location(filename)}: {self.severity}: {self.message}"
        parts = [head]
        if self.excerpt:
            parts.append(self.excerpt)
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }


class DSLError(WorkbenchError):
    """The DSL could not be parsed or is invalid. ``issues`` holds every error found."""

    def __init__(self, issues: list[Issue] | Issue):
        self.issues = [issues] if isinstance(issues, Issue) else list(issues)
        first = self.issues[0]
        super().__init__(first.format())

    @property
    def line(self) -> int | None:
        return self.issues[0].line

    @property
    def column(self) -> int | None:
        return self.issues[0].column

    def format(self, filename: str = "<dsl>") -> str:
        return "\n".join(i.format(filename) for i in self.issues)


class ConditionError(WorkbenchError):
    """A condition could not be evaluated against the context (missing name, type mismatch)."""


@dataclass
class ValidationReport:
    """Errors and warnings of a validation run."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
