"""Logging is configured once, in one namespace (``workbench.*``), by the entry points (issue 11)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "data" / "templates" / "order_processing.toml"


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_LOG_LEVEL"} | env
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_configure_logging_twice_prints_each_record_once():
    res = _python(
        "import logging\n"
        "from engine.logging_setup import configure_logging, get_logger\n"
        "configure_logging(); configure_logging()\n"
        "get_logger('store').info('flushed %d rows', 3)\n"
        "logging.getLogger('workbench.ai').debug('hidden at INFO')\n"
        "logging.getLogger('somelib').info('a library chatting')\n"
        "logging.getLogger('somelib').warning('a library warning')\n"
    )
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert sum("INFO workbench.store: flushed 3 rows" in ln for ln in lines) == 1, res.stderr
    assert sum("somelib: a library warning" in ln for ln in lines) == 1, res.stderr
    assert "hidden at INFO" not in res.stderr and "a library chatting" not in res.stderr


def test_level_comes_from_the_environment():
    code = (
        "from engine.logging_setup import configure_logging, get_logger\n"
        "configure_logging('WARNING')\nget_logger('runner').info('step done')\n"
    )
    assert "step done" not in _python(code).stderr
    assert "INFO workbench.runner: step done" in _python(code, WORKBENCH_LOG_LEVEL="info").stderr


def test_the_cli_configures_logging_once_per_process():
    res = _python(
        "import logging\n"
        "from engine.cli import main\n"
        f"assert main(['validate', {str(TEMPLATE)!r}]) == 0\n"
        f"assert main(['validate', {str(TEMPLATE)!r}]) == 0\n"
        "logging.getLogger('workbench.runner').warning('driver restarted')\n"
        "logging.getLogger('workbench.runner').info('quiet by default')\n"
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("WARNING workbench.runner: driver restarted") == 1, res.stderr
    assert "quiet by default" not in res.stderr


def _logger_names(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every ``getLogger("literal")`` and ``getLogger(__name__)`` call in a source file
    (a computed name, e.g. a loop over uvicorn's loggers to configure them, is not a module's logger)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getLogger"
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.append((node.lineno, str(arg.value)))
            elif isinstance(arg, ast.Name) and arg.id == "__name__":
                found.append((node.lineno, "__name__"))
    return found


def test_every_module_logs_in_the_workbench_namespace():
    outside = []
    for folder in ("engine", "ray_tasks", "app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, name in _logger_names(path):
                if path.name == "logging_setup.py":
                    continue  # builds the names itself
                if not (name == "workbench" or name.startswith("workbench.")):
                    outside.append(f"{path.relative_to(ROOT)}:{line}: getLogger({name})")
    assert not outside, "\n".join(outside)
