"""The engine.run package as a newcomer meets it: in the import graph without cycles, rooms of a
livable size, one concern per mixin, and the old import path still working."""

from __future__ import annotations

from pathlib import Path

from tests.test_import_graph import build_graph, find_cycles, module_sources

RUN = Path(__file__).resolve().parents[2] / "engine" / "run"
MODULES = {"driver", "control", "walk", "attempts", "subworkflows", "people", "recorder", "outcome", "state", "parts"}


def test_engine_run_is_in_the_import_graph_and_in_no_cycle():
    sources = module_sources()
    assert {f"engine.run.{m}" for m in MODULES} | {"engine.run"} <= set(sources)
    _, everything, _ = build_graph(sources)
    assert everything["engine.runner"] >= {"engine.run.driver", "engine.run.state"}
    touching = [c for c in find_cycles(everything) if any(m.startswith(("engine.run", "engine.runner")) for m in c)]
    assert touching == []


def test_each_module_is_a_room_of_livable_size():
    sizes = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in RUN.glob("*.py")}
    assert MODULES <= set(sizes)
    assert max(sizes.values()) < 600, sizes


def test_engine_is_composed_of_one_mixin_per_concern_with_a_docstring():
    from engine.run.driver import Engine

    mixins = [c for c in Engine.__mro__[1:] if c.__name__.endswith("Mixin")]
    assert {c.__module__.rsplit(".", 1)[1] for c in mixins} == {
        "walk",
        "attempts",
        "subworkflows",
        "people",
        "control",
        "recorder",
    }
    assert all((c.__doc__ or "").strip() for c in mixins)
    names = [n for c in mixins for n, v in vars(c).items() if callable(v) or isinstance(v, property)]
    assert len(names) == len(set(names)), "a method is defined by two mixins"


def test_the_old_import_path_still_gives_the_same_objects():
    from engine import run, runner

    assert runner.Engine is run.Engine and runner.RunOptions is run.RunOptions
    assert runner.ExecutionResult is run.ExecutionResult and runner.RunError is run.RunError
    assert runner.get_engine is run.get_engine
    from engine.run.driver import _ENGINES

    assert runner._ENGINES is _ENGINES
