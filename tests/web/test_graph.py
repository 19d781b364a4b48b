from __future__ import annotations

from agent.core.script import DialogueScript
from web.graph import WIDTH, diagram, parse_edges


def test_parse_edges_reads_mermaid_arrows() -> None:
    text = "stateDiagram-v2\n  [*] --> idle\n  idle --> chatting: greet | thanks [internal]\n"
    assert parse_edges(text) == [("idle", "chatting", "greet | thanks [internal]")]


def test_diagram_has_every_state_and_keeps_labels_inside(script: DialogueScript) -> None:
    drawn = diagram(script)
    assert {node.name for node in drawn.nodes} == set(script.states)
    assert [node.name for node in drawn.nodes if node.initial] == [script.initial]
    assert any(edge.loop for edge in drawn.edges)
    for edge in drawn.edges:
        half = len(edge.short) * 3.2
        assert half <= edge.lx <= WIDTH - half, edge
        assert len(edge.short) <= 34
