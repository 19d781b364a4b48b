"""The dialogue machine: built once from the script, stepped for one conversation at a time."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from transitions import EventData, Machine
from transitions.extensions.diagrams import GraphMachine

from agent.core.script import DialogueScript, is_filled


class _Chosen:
    """An ``after`` callback that only notes which scripted transition fired (no I/O)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, event: EventData) -> None:
        event.model.fired = self.key


class _TurnModel:
    """The conversation as the machine sees it for one step: state plus slot predicates."""

    def __init__(
        self,
        slots: dict[str, Any],
        mentioned: frozenset[str],
        value_guards: dict[str, tuple[str, str]],
    ) -> None:
        self.slots = slots
        self.mentioned = mentioned
        self.value_guards = value_guards
        self.fired: str | None = None

    def __getattr__(self, name: str) -> Any:
        # Guards in the script are has_<slot> (filled, by any turn), mentions_<slot>
        # (filled by this very message: an old topic must not answer for a new hobby) and
        # <slot>_is_<value> (the slot holds exactly that value: the stance of the message).
        if name in self.value_guards:
            slot, value = self.value_guards[name]
            return lambda _event=None: str(self.slots.get(slot)) == value
        if name.startswith("has_"):
            slot = name.removeprefix("has_")
            return lambda _event=None: is_filled(self.slots.get(slot))
        if name.startswith("mentions_"):
            return lambda _event=None: name.removeprefix("mentions_") in self.mentioned
        raise AttributeError(name)


@dataclass(frozen=True)
class Step:
    """The outcome of offering one intent to the machine."""

    fired: str | None
    state_after: str


def _machine_kwargs(script: DialogueScript) -> dict[str, Any]:
    transitions = [
        {
            "trigger": t.trigger,
            "source": "*" if "*" in t.sources else list(t.sources),
            "dest": t.dest,
            "conditions": list(t.conditions),
            "unless": list(t.unless),
            "after": _Chosen(t.key),
        }
        for t in script.transitions
    ]
    return {
        "states": script.states,
        "transitions": transitions,
        "initial": script.initial,
        # Only the script may move a conversation: no generated to_<state>() shortcuts.
        "auto_transitions": False,
        "send_event": True,
    }


class DialogueMachine:
    """One ``transitions.Machine`` per process; conversations attach for a step and detach."""

    def __init__(self, script: DialogueScript) -> None:
        self.script = script
        self._machine = Machine(model=None, **_machine_kwargs(script))
        # add_model/remove_model mutate the shared machine; a step is microseconds, so a plain
        # lock is cheaper than LockedMachine's per-callback locking.
        self._lock = threading.Lock()
        # A step depends only on the state, the intent, which slots are filled, which this
        # message mentioned and the values of the slots a value guard reads, so each distinct
        # case runs through the machine once and is remembered: attaching a model costs more
        # than the rest of the turn's logic.
        self._known: dict[tuple[Any, ...], Step] = {}
        self._valued = sorted({slot for slot, _ in script.value_guards.values()})

    def step(
        self,
        state: str,
        slots: dict[str, Any],
        intent: str | None,
        mentioned: frozenset[str] = frozenset(),
    ) -> Step:
        """Fire ``intent`` from ``state`` if the script allows it; never raises for a bad intent.

        ``mentioned`` names the entity slots this message filled (the ``mentions_`` guards).
        """
        if intent is None or intent not in self.script.triggers:
            return Step(None, state)
        filled = frozenset(name for name, value in slots.items() if is_filled(value))
        values = tuple(str(slots.get(slot)) for slot in self._valued)
        key = (state, intent, filled, mentioned, values)
        known = self._known.get(key)
        if known is not None:
            return known
        model = _TurnModel(slots, mentioned, self.script.value_guards)
        with self._lock:
            self._machine.add_model(model, initial=state)
            try:
                if model.may_trigger(intent):
                    model.trigger(intent)
                step = Step(model.fired, model.state)
            finally:
                self._machine.remove_model(model)
        self._known[key] = step
        return step


def mermaid_graph(script: DialogueScript) -> str:
    """The script as a Mermaid state diagram (no graphviz needed), for docs and the admin page."""

    class _Graph:
        pass

    model = _Graph()
    kwargs = _machine_kwargs(script)
    for transition in kwargs["transitions"]:
        del transition["after"]
    GraphMachine(
        model=model, graph_engine="mermaid", show_conditions=True, title=script.name, **kwargs
    )
    return str(model.get_graph().draw(None))  # type: ignore[attr-defined]
