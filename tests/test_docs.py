"""The documentation stays true: figures match benchmarks/results, links resolve, commands exist.

No Ray, no store: these read README.md, docs/*.md, the results JSON and the CLI's argparse parser.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from benchmarks import render_docs
from engine.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = render_docs.doc_files(ROOT)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _code(text: str) -> list[str]:
    """Lines of fenced code blocks and inline code spans."""
    blocks = [line for b in FENCE.findall(text) for line in b.splitlines()[1:-1]]
    return blocks + re.findall(r"`([^`\n]+)`", FENCE.sub("", text))


# ---------------------------------------------------------------- generated figures


def test_docs_are_rendered_from_the_benchmark_results():
    stale = [str(p.relative_to(ROOT)) for p in render_docs.stale_files(ROOT)]
    assert not stale, (
        f"{', '.join(stale)} out of date with benchmarks/results/*.json: run `python -m benchmarks.render_docs`"
    )


def test_every_results_file_feeds_a_block_in_the_docs():
    used = {m.group("name") for p in DOCS for m in render_docs.BLOCK.finditer(_text(p))}
    assert set(render_docs.BLOCKS) <= used
    results = render_docs.load_results()
    for name in ("engine", "recovery", "dsl", "store", "analytics", "optimizer", "translator_eval"):
        assert name in results


def test_a_changed_result_makes_the_docs_stale(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    engine = json.loads((results / "engine.json").read_text())
    engine["rows"][0]["ratio_ray"] = 9.87
    (results / "engine.json").write_text(json.dumps(engine))

    stale = render_docs.stale_files(ROOT, results)

    assert set(stale) == {README, ROOT / "docs" / "benchmarks.md"}
    assert "9.87×" in stale[README] and "9.87×" not in _text(README)
    assert "missed for W1 (9.87×)" in stale[ROOT / "docs" / "benchmarks.md"]


def test_the_engine_table_says_how_busy_the_machine_was_before_each_workload(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    engine = json.loads((results / "engine.json").read_text())
    for row, busy in zip(engine["rows"], (0.12, 0.2, 0.31), strict=False):
        row["busy_cpu_before"] = busy
    (results / "engine.json").write_text(json.dumps(engine))

    text = render_docs.stale_files(ROOT, results)[ROOT / "docs" / "benchmarks.md"]

    assert "each workload starts once the machine is quiet" in text
    assert "W1 12%, W2 20%, W3 31% busy before it" in text


def test_the_benchmark_waits_for_a_quiet_machine_but_not_forever():
    from benchmarks.bench_engine import _busy_share, wait_for_quiet

    busy = _busy_share(0.2)
    assert busy is None or 0.0 <= busy <= 1.0
    t0 = time.monotonic()
    wait_for_quiet(busy_below=1.01)  # any machine is quieter than that: one sample
    assert time.monotonic() - t0 < 2
    t0 = time.monotonic()
    wait_for_quiet(busy_below=-1, max_wait_s=0.4)  # never quiet enough: gives up after the limit
    assert 0.4 <= time.monotonic() - t0 < 3


def test_render_keeps_text_outside_the_markers_and_reports_bad_markers():
    results = render_docs.load_results()
    text = "before\n<!-- bench:dsl -->\nold figure\n<!-- /bench -->\nafter\n"
    out = render_docs.render_text(text, results)
    assert out.startswith("before\n<!-- bench:dsl -->\n") and out.endswith("<!-- /bench -->\nafter\n")
    assert "old figure" not in out and f"{results['dsl']['median_ms']:.1f} ms" in out
    with pytest.raises(render_docs.RenderError, match="unknown block"):
        render_docs.render_text("<!-- bench:nope -->\n<!-- /bench -->", results)
    with pytest.raises(render_docs.RenderError, match="markers"):
        render_docs.render_text("<!-- bench:dsl -->\nno end\n", results)
    with pytest.raises(render_docs.RenderError, match="store.json is missing"):
        render_docs.render_text("<!-- bench:store -->\n<!-- /bench -->", {})


def test_check_mode_exits_1_on_stale_docs(tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    shutil.copytree(ROOT / "benchmarks" / "results", tmp_path / "benchmarks" / "results")
    (tmp_path / "README.md").write_text("# x\n<!-- bench:dsl -->\nstale\n<!-- /bench -->\n")
    monkeypatch.setattr(render_docs, "ROOT", tmp_path)
    assert render_docs.main(["--check"]) == 1
    assert "README.md: out of date" in capsys.readouterr().err
    assert render_docs.main([]) == 0
    assert render_docs.main(["--check"]) == 0
    assert "stale" not in (tmp_path / "README.md").read_text()


# ---------------------------------------------------------------- README shape


def test_readme_is_short_and_starts_with_the_two_commands():
    text = _text(README)
    assert len(text.splitlines()) <= 200
    before_code = text.split("```", 1)[0].strip()
    assert before_code.startswith("# ") and "\n" not in before_code, "only the title may precede the commands"
    first_block = FENCE.search(text).group(0).splitlines()[1:-1]
    commands = [line.split("#", 1)[0].strip() for line in first_block if line.strip()]
    assert commands == ["make run", "make test"]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", _text(path)).splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_every_relative_link_resolves_to_a_file_and_anchor():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", _without_code(_text(doc))):
            if re.match(r"[a-z]+:", target):
                continue
            path_part, _, anchor = target.partition("#")
            path = (doc.parent / path_part).resolve() if path_part else doc
            if not path.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.name}: {target} (no heading for #{anchor})")
    assert not broken, "\n".join(broken)


def test_anchor_slugs_follow_github():
    assert _slug("Durable records, resume and re-run") == "durable-records-resume-and-re-run"
    assert _slug("Optimizer: predicted against `measured`") == "optimizer-predicted-against-measured"


def test_readme_links_every_doc():
    text = _text(README)
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{doc.name}" in text, f"README does not link docs/{doc.name}"


# ---------------------------------------------------------------- facts that must match the code


def _env_vars_read_by_the_code() -> dict[str, str]:
    """Environment variables engine/, ray_tasks/ and app/ read: name → a file that reads it."""
    names: dict[str, str] = {}
    for folder in ("engine", "ray_tasks", "app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(r"(WORKBENCH|OPENAI|RAY)_[A-Z0-9_]+", node.value)
                ):
                    names.setdefault(node.value, rel)
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and (
                        node.func.attr == "getenv"
                        or (
                            node.func.attr in ("get", "setdefault", "pop")
                            and ast.unparse(node.func.value).endswith("environ")
                        )
                    )
                ):
                    names.setdefault(str(node.args[0].value), rel)
                elif (
                    isinstance(node, ast.Subscript)
                    and ast.unparse(node.value).endswith("environ")
                    and isinstance(node.slice, ast.Constant)
                ):
                    names.setdefault(str(node.slice.value), rel)
    return names


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    found = _env_vars_read_by_the_code()
    assert {"WORKBENCH_DB", "RAY_ADDRESS", "OPENAI_API_KEY", "WORKBENCH_FSYNC"} <= set(found)
    text = _text(README)
    # a name ending in "_" is the constant prefix of an f-string (WORKBENCH_RATE_{kind}): any full name counts
    missing = {
        name: where
        for name, where in found.items()
        if not re.search(rf"`{name}[A-Z]" if name.endswith("_") else rf"`{name}[`=]", text)
    }
    assert not missing, f"add these to README's Configuration: {missing}"


def _subcommands() -> dict[str, set[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: set(p._option_string_actions) for name, p in sub.choices.items()}


def _quoted_commands() -> list[tuple[str, str, str]]:
    """(doc, subcommand, text) for every `workbench SUBCOMMAND …` quoted in code."""
    known = _subcommands()
    out = []
    for doc in DOCS:
        for line in _code(_text(doc)):
            for m in re.finditer(r"(?<![\w.-])workbench ([a-z][a-z-]*)([^\n]*)", line):
                rest = m.group(1) + m.group(2).split(" # ", 1)[0]
                current = None
                for segment in rest.split(" | "):
                    word = segment.split(" ", 1)[0]
                    if current is None or word in known:
                        current = word
                        out.append((doc.name, word, segment))
                    else:
                        out[-1] = (doc.name, current, out[-1][2] + " " + segment)
    return out


def test_every_quoted_cli_command_and_option_exists():
    known = _subcommands()
    quoted = _quoted_commands()
    assert {"run", "approve", "history", "analytics", "optimize", "translate"} <= {c for _, c, _ in quoted}
    bad = []
    for doc, command, text in quoted:
        if command not in known:
            bad.append(f"{doc}: workbench {command} (no such command)")
            continue
        for option in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", text):
            if option not in known[command]:
                bad.append(f"{doc}: workbench {command} … {option} (no such option)")
    assert not bad, "\n".join(bad)


def test_quoted_make_targets_and_modules_exist():
    makefile = _text(ROOT / "Makefile")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    for doc in DOCS:
        text = _text(doc)
        for target in re.findall(r"`make ([a-z][\w-]*)", text) + re.findall(r"^make ([a-z][\w-]*)", text, re.M):
            assert target in targets, f"{doc.name}: make {target} is not a Makefile target"
        for module in re.findall(r"python -m ((?:benchmarks|engine|ray_tasks)[\w.]*)", text):
            path = ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), f"{doc.name}: {module}"
