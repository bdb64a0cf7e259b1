"""The package's import graph, read with ``ast`` (imports inside functions included): no cycles, the library never
imports the stages, nothing below the runner imports it, and the analysis half never reaches torch or
transformers, so the figures of a 7b run redraw on a laptop from its pool file."""

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "e2h"
TOP = {"e2h.__main__", "e2h.runner", "e2h.seeds"}  # the command line and the drivers above the stages
ANALYSIS = ("e2h.pool", "e2h.grading", "e2h.rerank", "e2h.plots", "e2h.paper_results", "e2h.data")
HEAVY = {"torch", "transformers", "accelerate", "peft", "vllm"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(internal modules imported, external top-level packages imported) by one module, anywhere in it."""
    internal, external = set(), set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            if t == "e2h" or t.startswith("e2h."):
                while t not in MODULES:
                    t = t.rpartition(".")[0]
                internal.add(t)
                # Importing e2h.a.b first runs e2h.a's __init__, unless e2h.a encloses this module already.
                parent = t.rpartition(".")[0]
                while parent and parent != "e2h":
                    if not name.startswith(parent + ".") and parent != name:
                        internal.add(parent)
                    parent = parent.rpartition(".")[0]
            else:
                external.add(t.split(".")[0])
    internal.discard(name)
    return internal, external


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v][0]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        for w in GRAPH[v][0] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_the_graph_is_read():
    assert "e2h.stages.s05_scores" in GRAPH["e2h.runner"][0] or "e2h.stages" in GRAPH["e2h.runner"][0]
    assert "e2h.models.scorer" in GRAPH["e2h.stages.s05_scores"][0]
    assert "torch" in GRAPH["e2h.models.loading"][1]


def test_no_import_cycles():
    assert _cycles() == []


def test_the_library_never_imports_a_stage_or_the_runner():
    for name, (internal, _) in GRAPH.items():
        if name in TOP:
            continue
        assert not internal & TOP, f"{name} imports {sorted(internal & TOP)}, which sit above it"
        if not name.startswith("e2h.stages"):
            bad = sorted(m for m in internal if m.startswith("e2h.stages"))
            assert not bad, f"library module {name} imports {bad}"


def test_the_analysis_half_never_reaches_torch_or_transformers():
    for name in GRAPH:
        if not name.startswith(ANALYSIS):
            continue
        for m in {name} | _reach(name):
            heavy = GRAPH[m][1] & HEAVY
            assert not heavy, f"{name} reaches {m}, which imports {sorted(heavy)}"


def test_benchmarks_and_scripts_import_names_that_exist():
    """The benchmarks are run by hand, not by the tests: a rename in the package must not break them silently."""
    import importlib

    for path in sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "e2h":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or f"{node.module}.{alias.name}" in MODULES, \
                        f"{path.name}: from {node.module} import {alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "e2h":
                        assert alias.name in MODULES, f"{path.name}: import {alias.name}"
