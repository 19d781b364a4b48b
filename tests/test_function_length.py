"""Runtime functions stay short enough to read at once: one over 60 lines says why it is not
split, in a ``# Long:`` comment inside it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("agent", "nlu", "generator", "web", "xsandbox")
MAX_LINES = 60


def long_functions() -> list[tuple[str, str, int, bool]]:
    """(file, function, lines, says why) for every runtime function over ``MAX_LINES``."""
    found = []
    for package in RUNTIME:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > MAX_LINES:
                    body = lines[node.lineno - 1 : node.end_lineno]
                    why = any(line.strip().startswith("# Long:") for line in body)
                    found.append((str(path.relative_to(ROOT)), node.name, length, why))
    return found


def test_every_long_runtime_function_says_why_it_is_long() -> None:
    found = long_functions()
    unexplained = [f"{file}:{name} ({n} lines)" for file, name, n, why in found if not why]
    assert not unexplained, "split these, or say why not in a '# Long:' comment: " + ", ".join(
        unexplained
    )
    assert len(found) <= 8  # today's count: a new long function needs a reason to exist
