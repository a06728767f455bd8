"""The package's shape: no import cycles, and every format, classifier and command is
found through its registry.

Imports are read from the source (``ast``), everywhere in a file (inside functions too),
except under ``if TYPE_CHECKING:``. Two checks:

- **rooms**: each subpackage (``ingest``, ``features``, ``models``, ...) and each top-level
  module is one room; the rooms' import graph has no cycle, so each layer only looks
  down;
- **modules**: the graph of imports that run at import time (module level) has no cycle
  at all, inside rooms too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from support.paths import REPO

PACKAGE = "dosewatch"
SKIP = {"tests", "scripts", "build", "docs", "examples", ".venv"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in REPO.rglob("*.py"):
        rel = path.relative_to(REPO)
        if rel.parts[0] in SKIP or any(p.startswith(".") for p in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([PACKAGE, *parts])] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(every dosewatch module ``name`` imports, those imported at module level)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    every: set[str] = set()
    top: set[str] = set()

    def resolve(module: str | None, level: int, names: list[str]) -> set[str]:
        if level:
            base = package.split(".")[: len(package.split(".")) - (level - 1)]
            target = ".".join(base + ([module] if module else []))
        else:
            target = module or ""
        if not target.startswith(PACKAGE):
            return set()
        out = set()
        for n in names:  # "from x import y" may import the submodule x.y
            if f"{target}.{n}" in modules:
                out.add(f"{target}.{n}")
        if target in modules and (not out or len(out) < len(names)):
            out.add(target)
        return out

    def visit(node: ast.AST, at_top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            found: set[str] = set()
            if isinstance(child, ast.Import):
                found = {a.name for a in child.names if a.name in modules}
            elif isinstance(child, ast.ImportFrom):
                found = resolve(child.module, child.level, [a.name for a in child.names])
            every.update(found)
            if at_top:
                top.update(found)
            nested = at_top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, nested)

    visit(tree, True)
    every.discard(name)
    top.discard(name)
    return every, top


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def _graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = _modules()
    rooms: dict[str, set[str]] = defaultdict(set)
    top: dict[str, set[str]] = {}
    for name, path in modules.items():
        every, at_top = _imports(name, path, modules)
        top[name] = at_top
        for target in every:
            if _room(target) != _room(name):
                rooms[_room(name)].add(_room(target))
    return rooms, top


def test_the_walker_sees_imports() -> None:
    rooms, top = _graphs()
    assert "spec" in rooms["features"] and "features" in rooms["models"]
    assert "dosewatch.ingest.registry" in top["dosewatch.ingest.formats.fit"]
    # And it finds a cycle when there is one.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_cycle_between_rooms() -> None:
    rooms, _ = _graphs()
    assert _cycle(rooms) is None, " -> ".join(_cycle(rooms) or [])


def test_no_cycle_between_modules_at_import_time() -> None:
    _, top = _graphs()
    assert _cycle(top) is None, " -> ".join(_cycle(top) or [])


def test_spec_is_below_features_and_models() -> None:
    rooms, _ = _graphs()
    assert rooms["spec"] <= {"config"}, rooms["spec"]
    assert "models" not in rooms["features"]


def test_no_module_shadows_the_standard_library() -> None:
    """The repository's root is the package, and tools run from it put it on sys.path: a
    top-level ``profile.py`` once hid the standard library's (cProfile imports it)."""
    import sys

    names = {p.stem for p in REPO.glob("*.py")} | {p.name for p in REPO.iterdir()
                                                    if (p / "__init__.py").is_file()}
    assert not names & set(sys.stdlib_module_names)
