"""Imports run one way: nlu, generator <- agent core and storage <- channels, mlops, ops <- web
<- the CLI root; and no module imports one that imports it back (function-local and type-only
imports count).

Read from the source with ``ast``, so nothing is imported and the test takes milliseconds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nlu", "generator", "agent", "web", "xsandbox")

# Lowest first; a module may import its own layer or any below. The longest prefix decides.
LAYERS: dict[str, int] = {
    "nlu": 0,
    "generator": 0,
    "agent.settings": 1,
    "agent.storage": 1,
    "agent.core": 2,
    "agent.context": 2,
    "agent.channels": 3,
    "agent.mlops": 3,
    "agent.ops": 3,
    "agent.schema": 4,
    # The CLI root sits above web: it starts the web app, and web must never need the CLI.
    "agent.cli": 5,
    "agent.__main__": 5,
    "agent": 4,
    "web": 4,
    # The fake X API: it reuses the channel's rules (duplicate text, search limits), and nothing
    # of the bot may import it (test_the_sandbox_stays_out_of_the_bot).
    "xsandbox": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = source_modules()


def resolve(name: str) -> str | None:
    """The project module ``name`` refers to: itself, or the package holding an imported name."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Every project module ``module`` imports, at the top, inside functions or only for type
    checking: a type-only import still ties the two modules together for a reader."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # ``from pkg import sub`` imports the module pkg.sub, else a name from pkg itself.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = resolve(name)
            # A module's own packages are loaded before it anyway: not an edge.
            if target is not None and not (module + ".").startswith(target + "."):
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer(module: str) -> int:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def test_the_tree_is_read() -> None:
    # A wrong ROOT would read nothing and pass every test below.
    assert {"agent.core.pipeline", "nlu.model", "generator.model", "web.chat"} <= MODULES.keys()
    assert "agent.storage.models" in GRAPH["agent.core.pipeline"]


def test_imports_point_down() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_the_sandbox_stays_out_of_the_bot() -> None:
    # `threadbot run` starts the sandbox as a command (an entry point), never by import.
    leaks = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if not module.startswith("xsandbox")
        for target in sorted(targets)
        if target.startswith("xsandbox")
    ]
    assert not leaks, "the bot imports the fake X API:\n" + "\n".join(leaks)


def find_cycle() -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [({"a": {"b"}, "b": {"c"}, "c": set()}, False), ({"a": {"b"}, "b": {"a"}}, True)],
)
def test_the_cycle_finder_finds_cycles(
    monkeypatch: pytest.MonkeyPatch, graph: dict[str, set[str]], cyclic: bool
) -> None:
    monkeypatch.setattr(f"{__name__}.GRAPH", graph)
    assert (find_cycle() is not None) is cyclic


def _folders(root: Path, names: tuple[str, ...]) -> set[str]:
    """Every folder of Python modules below ``names``, relative to ``root``."""
    return {
        init.parent.relative_to(root).as_posix()
        for name in names
        for init in (root / name).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_tests_mirror_the_packages() -> None:
    # A newcomer looks for a module's tests at the same path below tests/ (the repo's deploy/
    # folder of scripts is tested in tests/deploy, the one folder beside the packages).
    packages = _folders(ROOT, PACKAGES)
    tests = _folders(ROOT / "tests", (*PACKAGES, "deploy"))
    assert tests - packages == {"deploy"}, "test folders with no package of that path"
    assert packages - tests == set(), "packages with no test folder of that path"
