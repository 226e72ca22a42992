"""Shared fixtures live in tests/fixtures/*; each area owns its module."""

import getpass
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the test suite's own python-state functions (tests.engine.functions, tests.faults.runner_functions …)
# are allowed through the documented admin setting (docs/security.md); subprocesses inherit it
os.environ.setdefault("WORKBENCH_FUNCTION_DIRS", os.path.dirname(os.path.abspath(__file__)))
# workflows and data files the tests write under pytest's tmp_path may be read (WORKBENCH_DATA_DIRS)
os.environ.setdefault("WORKBENCH_DATA_DIRS", os.path.join(tempfile.gettempdir(), f"pytest-of-{getpass.getuser()}"))

pytest_plugins = [
    "tests.fixtures.ray_cluster",
    "tests.fixtures.store",
    "tests.fixtures.llm_server",
    "tests.fixtures.app_server",
    "tests.fixtures.oidc_provider",
]
