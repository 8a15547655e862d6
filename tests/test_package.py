"""The package's shape: no import cycles between riskwatch modules (imports inside functions
included), no module over 400 lines, artifact names spelled only in the layout module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "riskwatch"
MODULES = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
           for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """riskwatch modules that ``name`` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m in MODULES and m != name and m != "riskwatch"}


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    assert find_cycle(GRAPH) is None, " → ".join(find_cycle(GRAPH))


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_inside_functions() -> None:
    assert "riskwatch.api" in GRAPH["riskwatch.serve_commands"]  # serve() imports it when called
    assert "riskwatch.serve_commands" in GRAPH["riskwatch.cli"]


def test_no_module_over_400_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 400}
    assert not long


def test_artifact_names_are_spelled_only_in_the_layout_module() -> None:
    names = re.compile(r"""["'](finaldata\.csv|ingestedfiles\.(json|txt)|latestscore\.txt|trainedmodel\.pkl|"""
                       r"""diagnostics\.json|run\.json|batch\.parquet|summary_report\.pdf|apireturns\.(json|txt))["']""")
    spelled = {name: names.findall(path.read_text()) for name, path in MODULES.items() if name != "riskwatch.layout"}
    assert not {name: found for name, found in spelled.items() if found}
