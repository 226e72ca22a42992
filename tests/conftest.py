"""Shared fixtures live in tests/fixtures/*; each area owns its module."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytest_plugins = [
    "tests.fixtures.ray_cluster",
    "tests.fixtures.store",
    "tests.fixtures.llm_server",
    "tests.fixtures.app_server",
]
