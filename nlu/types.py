"""The parse result and the one interface the agent relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from nlu.trust import DEFAULT_GATE, TrustGate


@dataclass(frozen=True)
class IntentScore:
    """One candidate intent and its calibrated confidence in [0, 1]."""

    name: str
    confidence: float

    def as_json(self) -> dict[str, Any]:
        """Its fields as a dict (every turn stores its intents: ``asdict`` costs 5x this)."""
        return {"name": self.name, "confidence": self.confidence}


@dataclass(frozen=True)
class Entity:
    """A span of the text with its label; ``value`` is the canonical form after synonyms.

    ``source`` says what found it: ``rule`` (phrase tables, annotations of closed labels,
    patterns) or ``model`` (the entity recogniser trained on annotations of open labels).
    """

    label: str
    text: str
    start: int
    end: int
    value: str
    source: str = "rule"

    def as_json(self) -> dict[str, Any]:
        """Its fields as a dict (as :meth:`IntentScore.as_json`, for every turn's row)."""
        return {
            "label": self.label,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": self.value,
            "source": self.source,
        }


@dataclass(frozen=True)
class Stance:
    """The side a message takes toward the bot's topic: favor, against or none, its calibrated
    confidence, and whether the model is sure enough to act on it (else: unsure, read as
    none by the script and the fallback)."""

    label: str
    confidence: float
    sure: bool

    @property
    def side(self) -> str:
        """What to act on: the label when sure, else ``none``."""
        return self.label if self.sure else "none"

    def as_json(self) -> dict[str, Any]:
        """As the chat API and ``say --json`` report it."""
        return {"label": self.label, "confidence": round(self.confidence, 4), "sure": self.sure}


@dataclass(frozen=True)
class Parse:
    """What the NLU makes of one message: ranked intents, whether to trust the top one, entities."""

    text: str
    intents: tuple[IntentScore, ...]
    trusted: bool
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    # The gate that decided ``trusted``, so settings can override one of its values and keep
    # the other; None when the parser does not say (the default gate stands in).
    gate: TrustGate | None = None
    # Toward the bot's topic; None for a model trained without stance data.
    stance: Stance | None = None

    @property
    def intent(self) -> str | None:
        """The top intent's name, or None when there is no candidate at all."""
        return self.intents[0].name if self.intents else None

    @property
    def confidence(self) -> float:
        return self.intents[0].confidence if self.intents else 0.0


def is_trusted(parse: Parse, threshold: float | None = None, margin: float | None = None) -> bool:
    """The model's own decision, unless a threshold or margin override replaces its value.

    Here rather than in nlu/trust.py, so that the rule's module does not import the parse
    that imports it."""
    if threshold is None and margin is None:
        return parse.trusted
    gate = (parse.gate or DEFAULT_GATE).overridden(threshold, margin)
    return gate.trusts(i.confidence for i in parse.intents)


class IntentParser(Protocol):
    """Anything that turns text into a ``Parse``; ``version`` is recorded with every turn."""

    version: str

    def parse(self, text: str) -> Parse: ...


@runtime_checkable
class StanceReader(Protocol):
    """A parser that can also tell the side any text takes (the fallback's stance rule)."""

    @property
    def reads_stance(self) -> bool: ...

    def side_of(self, text: str) -> str: ...
