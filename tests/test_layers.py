"""The architecture as a test: imports point one way and never form a cycle.

Every import is read from the source (module level and inside functions alike, since a
cycle hidden in a function is still a cycle), resolved to the project module it names,
and checked against the layering of the design card:

    the command line -> summaries / sweeps / figures -> analytics -> toymodels
    the command line -> benchmarks -> toymodels

(on the middle floor, figures draw what summaries compute, and summaries read sweeps),

with sympy only in ``analytics`` and matplotlib only in ``figures``.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("toymodels", "analytics", "sweeps", "summaries", "figures", "benchmarks", "cli")
# What each package may import from the project (besides itself).  The command line is
# the top floor; summaries turn a sweep's results into numbers beside the theory; figures
# only draw what summaries give them, so they import neither the theory nor the sweeps.
ALLOWED = {
    "toymodels": set(),
    "analytics": {"toymodels"},
    "sweeps": {"toymodels", "analytics"},
    "summaries": {"toymodels", "analytics", "sweeps"},
    "figures": {"toymodels", "summaries"},
    "benchmarks": {"toymodels"},
    "cli": {"toymodels", "analytics", "sweeps", "summaries", "figures", "benchmarks"},
}
# Third-party libraries confined to one package.
CONFINED = {"sympy": "analytics", "matplotlib": "figures"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (absolute names; ``from a import b`` counts as
    ``a.b`` when that is a module, else ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _project(target: str) -> str | None:
    """The project module ``target`` refers to (its longest known prefix)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def test_no_import_cycles():
    edges = {
        name: {t for t in map(_project, targets) if t and t != name}
        for name, targets in GRAPH.items()
    }
    # A package's __init__ importing its own submodules is how a package is assembled;
    # a submodule importing its package's __init__ back is the cycle we look for.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert cycles == []


def test_layers_point_one_way():
    # Every module, the command line's included: an arrow to a package not in its
    # package's ALLOWED set points down into the command line or up from the engine.
    wrong = []
    for name, targets in GRAPH.items():
        package = name.split(".")[0]
        for target in targets:
            dest = _project(target)
            if dest is None:
                continue
            dest_package = dest.split(".")[0]
            if dest_package != package and dest_package not in ALLOWED[package]:
                wrong.append(f"{name} -> {dest}")
    assert wrong == []


def test_nothing_imports_the_command_line():
    assert all("cli" not in allowed for allowed in ALLOWED.values())
    assert set(ALLOWED) == set(PACKAGES)


@pytest.mark.parametrize("library, home", sorted(CONFINED.items()))
def test_heavy_libraries_stay_in_their_package(library, home):
    users = sorted(
        name
        for name, targets in GRAPH.items()
        if any(t == library or t.startswith(library + ".") for t in targets)
    )
    assert users and all(u.split(".")[0] == home for u in users), users


def test_module_names_say_one_thing():
    # Registries may each have a ``base`` module; every other file name is used once, so a
    # name says what the file holds wherever it is read.
    seen: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if path.name not in ("__init__.py", "base.py"):
            seen.setdefault(path.name, []).append(name)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


def test_every_declared_pytest_marker_is_used():
    # --strict-markers refuses undeclared ones; a declared one no test uses says a kind
    # of test exists (e.g. "slow", deselectable) when it does not.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = [m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"].get("markers", [])]
    used = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    assert [m for m in declared if f"pytest.mark.{m}" not in used] == []
