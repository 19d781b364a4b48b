from __future__ import annotations

import pytest

from agent.core.machine import DialogueMachine, mermaid_graph
from agent.core.script import DialogueScript


@pytest.fixture(scope="module")
def machine(script: DialogueScript) -> DialogueMachine:
    return DialogueMachine(script)


TOPIC = frozenset({"topic"})  # the message itself named the topic


@pytest.mark.parametrize(
    ("state", "slots", "intent", "mentioned", "fired", "after"),
    [
        ("idle", {}, "greet", frozenset(), "t0", "asked_topic"),
        ("asked_topic", {"topic": "robotics"}, "share_interest", TOPIC, "t4", "asked_opinion"),
        # mentions_topic: a topic from an earlier turn does not make "I'm into knitting" AI
        ("chatting", {"topic": "robotics"}, "share_interest", frozenset(), None, "chatting"),
        ("asked_opinion", {"topic": "ml"}, "affirm", frozenset(), "t5", "chatting"),
        ("chatting", {"topic": "ml"}, "ask_bot_opinion", frozenset(), "t12", "chatting"),
        ("idle", {"topic": "ml"}, "ask_bot_opinion", frozenset(), None, "idle"),
        ("chatting", {}, "help", frozenset(), "global:help", "chatting"),
        ("chatting", {"topic": "ml"}, "restart", frozenset(), "global:restart", "idle"),
        ("asked_opinion", {}, "stop", frozenset(), "global:stop", "asked_opinion"),
    ],
)
def test_steps_follow_the_script(
    machine: DialogueMachine,
    state: str,
    slots: dict,
    intent: str,
    mentioned: frozenset[str],
    fired: str | None,
    after: str,
) -> None:
    step = machine.step(state, slots, intent, mentioned)
    assert (step.fired, step.state_after) == (fired, after)


@pytest.mark.parametrize(
    ("state", "intent"),
    [("idle", "affirm"), ("idle", "no_such_intent"), ("chatting", None), ("idle", "out_of_scope")],
)
def test_invalid_triggers_do_not_move(machine: DialogueMachine, state: str, intent: str) -> None:
    step = machine.step(state, {}, intent)
    assert step.fired is None
    assert step.state_after == state


@pytest.mark.parametrize(
    ("side", "answer"),
    [("against", "Agreed that it gets"), ("favor", None), ("none", None)],
)
def test_the_message_stance_picks_the_branch(
    machine: DialogueMachine, script: DialogueScript, side: str, answer: str | None
) -> None:
    """Ada's ask_ai_limits has a branch per side, listed before the plain answer; each
    side's step is remembered apart (the cache key holds the values a guard reads)."""
    fired = {
        s: machine.step("chatting", {"stance": s}, "ask_ai_limits").fired
        for s in ("against", "favor", "none")
    }
    assert len(set(fired.values())) == 3  # three different transitions
    spec = script.transition(fired[side])
    conditions = set(spec.conditions)
    assert (f"stance_is_{side}" in conditions) == (side != "none")
    if answer is not None:
        assert any(r.startswith(answer) for r in spec.replies)
    assert machine.step("chatting", {"stance": side}, "ask_ai_limits").fired == fired[side]


def test_models_are_detached_after_each_step(machine: DialogueMachine) -> None:
    machine.step("idle", {}, "greet")
    machine.step("idle", {}, "affirm")
    assert machine._machine.models == []


def test_mermaid_graph_draws_every_state_and_transition(script: DialogueScript) -> None:
    graph = mermaid_graph(script)
    assert graph.splitlines()[3] == "stateDiagram-v2"
    for state in script.states:
        assert f'state "{state}" as {state}' in graph
    assert "idle --> asked_topic: greet" in graph
    assert (
        "asked_topic --> asked_opinion: share_interest [mentions_topic & stance_is_against]"
        in graph
    )
    assert "| share_interest [mentions_topic]" in graph
    assert f"[*] --> {script.initial}" in graph


def test_repeated_cases_are_answered_from_memory(script: DialogueScript) -> None:
    machine = DialogueMachine(script)
    first = machine.step("chatting", {"topic": "ml"}, "ask_bot_opinion")
    again = machine.step("chatting", {"topic": "robots", "opinion": ""}, "ask_bot_opinion")
    assert first == again
    assert len(machine._known) == 1
    # a different filled-slot set is a different case: the guard may answer differently
    assert machine.step("chatting", {}, "ask_bot_opinion").fired is None
