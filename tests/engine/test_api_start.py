"""api.start's library version lookup: cached per spec, and still right when the library changes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import api, library
from engine.store import Store, _register
from engine.workflow_file import parse_workflow_text

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_SQL = re.compile(r"\bworkflows(_history)?\b", re.I)


class CountingStore(Store):
    """A real Store that also counts the queries made against the library's tables."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.library_queries: list[str] = []

    def query(self, sql, params=None):
        if LIBRARY_SQL.search(sql):
            self.library_queries.append(sql)
        return super().query(sql, params)


@pytest.fixture
def counting_store(tmp_path, monkeypatch):
    db = tmp_path / "workbench.duckdb"
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    s = CountingStore(db)
    _register(s)
    try:
        yield s
    finally:
        from engine.runner import _ENGINES

        eng = _ENGINES.pop(str(s.path), None)  # the process-wide engine api.start made for this store
        if eng is not None:
            eng.shutdown()
        s.close()


def _spec(dsl: str, name: str = "cached-start"):
    return parse_workflow_text(f'name = "{name}"\ndsl = "{dsl}"\n')


def test_second_start_of_the_same_spec_makes_no_library_query(counting_store):
    st = counting_store
    spec = _spec("start->a; a->b; b->end;")
    first = api.start(spec, {}, store=st)
    assert api.wait(first, timeout=30, store=st).status == "completed"
    assert st.library_queries, "the first start must look the spec up in the library"
    st.library_queries.clear()
    again = _spec("start->a; a->b; b->end;")  # an equal spec, another object
    second = api.start(again, {}, store=st)
    assert api.wait(second, timeout=30, store=st).status == "completed"
    assert st.library_queries == []
    rows = st.query(
        "SELECT execution_id, workflow_id, version FROM workflow_executions WHERE execution_id IN (?, ?)",
        [first, second],
    )
    assert len({(r["workflow_id"], r["version"]) for r in rows}) == 1 and rows[0]["version"] == 1


def test_a_changed_spec_gets_a_pinned_version_that_never_replaces_the_default(counting_store):
    st = counting_store
    first = _spec("start->a; a->end;")
    wid, v1 = api.ensure_version(first, st)
    assert api.ensure_version(_spec("start->a; a->end;"), st) == (wid, v1)
    changed = _spec("start->a; a->b; b->end;")
    assert api.ensure_version(changed, st) == (wid, v1 + 1)
    # the run is pinned to the changed spec, but the library's default stays the first version
    assert library.get_workflow(st, wid)[0].model_dump(mode="json") == first.model_dump(mode="json")
    assert library.get_workflow(st, wid, v1 + 1)[1]["status"] == "pinned"
    assert library.default_version(st, wid) == v1
    # the first spec again: the default holds it; the changed one again: its pinned version
    assert api.ensure_version(_spec("start->a; a->end;"), st) == (wid, v1)
    assert api.ensure_version(_spec("start->a; a->b; b->end;"), st) == (wid, v1 + 1)
    # a change made through the library in this process (not through ensure_version) is seen at once
    library.save_workflow(st, changed, workflow_id=wid, change_note="edited")
    assert library.default_version(st, wid) == v1 + 2
    assert api.ensure_version(_spec("start->a; a->b; b->end;"), st) == (wid, v1 + 2)
    assert api.ensure_version(_spec("start->a; a->end;"), st) == (wid, v1)  # an earlier version holds it


def test_a_version_saved_by_another_process_is_seen(counting_store):
    st = counting_store
    spec = _spec("start->a; a->end;", name="shared")
    wid, v1 = api.ensure_version(spec, st)
    assert api.ensure_version(spec, st) == (wid, v1)
    script = textwrap.dedent("""
        import sys
        from engine import library
        from engine.store import Store
        from engine.workflow_file import parse_workflow_text
        st = Store(sys.argv[1])
        spec = parse_workflow_text('name = "shared"\\ndsl = "start->a; a->b; b->end;"\\n')
        print(library.save_workflow(st, spec, workflow_id=sys.argv[2], change_note="other process"))
        st.close()
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script, str(st.path), wid],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"'{wid}', {v1 + 1}" in out.stdout
    # the library's current version is now the other process's spec: ours is still held by v1
    assert api.ensure_version(spec, st) == (wid, v1)
    assert library.default_version(st, wid) == v1 + 1
    st.library_queries.clear()
    assert api.ensure_version(spec, st) == (wid, v1)
    assert st.library_queries == []
