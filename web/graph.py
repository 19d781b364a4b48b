"""The dialogue as an SVG diagram: edges read from ``mermaid_graph``, states laid on an ellipse."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from agent.core.machine import mermaid_graph
from agent.core.script import DialogueScript

# "  idle --> asked_topic: greet | share_interest [!has_topic]"
_EDGE = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)\s*:\s*(.*)$")
WIDTH, HEIGHT = 760, 440
BOX_W, BOX_H = 130, 36
LABEL_CHARS = 34


@dataclass(frozen=True)
class Node:
    """A state and where its box is centred."""

    name: str
    x: float
    y: float
    initial: bool


@dataclass(frozen=True)
class Edge:
    """An arrow between two boxes (or a loop on one), with its label placed."""

    source: str
    dest: str
    label: str  # every trigger, for the tooltip and the table
    short: str  # what fits on the drawing
    x1: float
    y1: float
    x2: float
    y2: float
    lx: float
    ly: float
    loop: bool = False
    cy: float = 0.0  # a self-loop's control points sit at this height


@dataclass(frozen=True)
class Diagram:
    """Everything the SVG template draws."""

    nodes: list[Node]
    edges: list[Edge]
    width: int = WIDTH
    height: int = HEIGHT


def parse_edges(mermaid: str) -> list[tuple[str, str, str]]:
    """(source, dest, label) for each arrow in a Mermaid state diagram."""
    return [
        (m[1], m[2], m[3].strip())
        for line in mermaid.splitlines()
        if (m := _EDGE.match(line)) and m[1] != "[*]"
    ]


def _inside(x: float, text: str) -> float:
    """Move a centred label sideways so it stays inside the drawing."""
    half = len(text) * 3.2 + 4  # about half the width of 11px text
    return min(max(x, half), WIDTH - half)


def _shorten(label: str) -> str:
    names = [part.split(" [")[0].strip() for part in label.split("|")]
    text = ", ".join(names)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _border(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    """Where the line from box centre (x1, y1) towards (x2, y2) leaves the box."""
    dx, dy = x2 - x1, y2 - y1
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else math.inf,
        (BOX_H / 2 + 4) / abs(dy) if dy else math.inf,
    )
    return x1 + dx * scale, y1 + dy * scale


def _loop(source: str, label: str, node: Node, centre_y: float) -> Edge:
    # A self-loop sits on the side of its box away from the centre, its label beyond it.
    up = -1 if node.y <= centre_y else 1
    top = node.y + up * (BOX_H / 2)
    label_y = top + up * 48 + (12 if up > 0 else 0)
    short = _shorten(label)
    return Edge(
        source, source, label, short, node.x - 18, top, node.x + 18, top,
        _inside(node.x, short), label_y, loop=True, cy=top + up * 50,
    )  # fmt: skip


def diagram(script: DialogueScript) -> Diagram:
    """Lay the script's states on an ellipse (initial state on the left) and route the arrows."""
    names = [script.initial] + [s for s in script.states if s != script.initial]
    cx, cy = WIDTH / 2, HEIGHT / 2
    rx, ry = WIDTH / 2 - BOX_W / 2 - 20, HEIGHT / 2 - 90
    nodes: dict[str, Node] = {}
    for index, name in enumerate(names):
        angle = math.pi + 2 * math.pi * index / max(1, len(names))
        x, y = cx + rx * math.cos(angle), cy + ry * math.sin(angle)
        nodes[name] = Node(name, x, y, name == script.initial)
    edges: list[Edge] = []
    for source, dest, label in parse_edges(mermaid_graph(script)):
        if source not in nodes or dest not in nodes:
            continue
        a, b = nodes[source], nodes[dest]
        if source == dest:
            edges.append(_loop(source, label, a, cy))
            continue
        # Offset each direction to its own side of the centre line, so two-way pairs part.
        nx, ny = b.y - a.y, a.x - b.x
        norm = math.hypot(nx, ny) or 1.0
        ox, oy = 7 * nx / norm, 7 * ny / norm
        x1, y1 = _border(a.x + ox, a.y + oy, b.x + ox, b.y + oy)
        x2, y2 = _border(b.x + ox, b.y + oy, a.x + ox, a.y + oy)
        lx, ly = (x1 + x2) / 2 + 2 * ox, (y1 + y2) / 2 + 2 * oy
        short = _shorten(label)
        edges.append(Edge(source, dest, label, short, x1, y1, x2, y2, _inside(lx, short), ly))
    return Diagram(list(nodes.values()), edges)
