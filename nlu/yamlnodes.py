"""Read YAML as nodes, which keep line numbers, and report shape errors at their line.

The one YAML reader of the project: the NLU's data files read nodes through :class:`YamlReader`;
the dialogue script (agent.core.script) turns them into :class:`LineDict`/:class:`LineList`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nlu.errors import Problem


def compose(path: Path, problems: list[Problem]) -> yaml.Node | None:
    """Parse YAML into nodes (which keep line numbers); record syntax errors as problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read the file: {exc.strerror}"))
        return None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problems.append(Problem(str(path), line, f"invalid YAML: {exc.problem}"))
        return None


class YamlReader:
    """Reads YAML nodes into Python values, recording shape errors with their line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems

    def add(self, node: yaml.Node, message: str) -> None:
        """Record a problem at a node's line."""
        self.problems.append(Problem(self.source, node.start_mark.line + 1, message))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
        """Return a mapping node's string keys and value nodes, or {} after a problem."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, f"{what} must be a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.string(key, f"a key in {what}")
            if name is None:
                continue
            if name in out:
                self.add(key, f"{what} repeats the key {name!r}")
            out[name] = value
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """Return a sequence node's items, or [] after a problem."""
        if not isinstance(node, yaml.SequenceNode):
            self.add(node, f"{what} must be a list")
            return []
        return list(node.value)

    def string(self, node: yaml.Node, what: str) -> str | None:
        """Return a scalar as text; YAML's yes/no/numbers are refused, since they change meaning."""
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.add(node, f"{what} must be a non-empty string")
            return None
        if node.tag != "tag:yaml.org,2002:str":
            self.add(node, f"{what} {node.value!r} is read by YAML as a non-string; quote it")
            return None
        return str(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        """Return a YAML ``true``/``false``; anything else is a problem."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in {"true", "yes", "on"}
        self.add(node, f"{what} must be true or false, got {getattr(node, 'value', node)!r}")
        return None


def is_null(node: yaml.Node) -> bool:
    """True for an empty YAML value such as ``label:`` with nothing after it."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


class LineDict(dict[str, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int
    item_lines: list[int]


def with_lines(node: yaml.Node) -> Any:
    """Plain values from :func:`compose`'s nodes; mappings and lists remember their lines."""
    constructor = yaml.SafeLoader("")
    try:
        return _convert(node, constructor)
    finally:
        constructor.dispose()


def _convert(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = str(constructor.construct_object(key_node))
            mapping[key] = _convert(value_node, constructor)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = LineList(_convert(item, constructor) for item in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [item.start_mark.line + 1 for item in node.value]
        return items
    return constructor.construct_object(node)
