"""Agent fixtures: the shipped script and NLU model, on a real database; a generator whose
replies say where they came from; a reply waiting in X's outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import nlu
from agent.channels.twitter.models import PENDING, OutboxReply
from agent.channels.twitter.window import text_key
from agent.core.pipeline import Agent
from agent.core.script import DialogueScript, load_script
from agent.storage.db import make_sessionmaker
from generator.types import Generated, ReplyContext
from tests.conftest import ROOT

DIALOGUE = ROOT / "data" / "bot" / "dialogue.yml"
INTENTS = ROOT / "data" / "bot" / "intents.yml"

SOURCED_REPLY = "Pizza is fine, though I mostly think about robots."
# Where the hybrid fallback says a reply came from (generator.types.Generated.source).
RETRIEVED = {
    "kind": "retrieved",
    "corpus": "chitchat",
    "pair": "12345",
    "score": 1.23,
    "features": {"lstm_logp": 0.8, "specificity": -0.2, "length": 0.05, "overlap": 0.01},
}


@pytest.fixture(scope="session")
def script() -> DialogueScript:
    return load_script(DIALOGUE, nlu.load_intents(INTENTS).intent_names)


@pytest.fixture(scope="session")
def parser() -> nlu.IntentParser:
    """The shipped default NLU model: the agent is tested with the parser users get."""
    return nlu.load(ROOT / "models" / "nlu")


@pytest.fixture
def make_agent(script: DialogueScript, parser: nlu.IntentParser) -> Callable[..., Agent]:
    def build(engine: Engine, **kwargs: Any) -> Agent:
        kwargs.setdefault("generator", None)
        generator = kwargs.pop("generator")
        return Agent(script, parser, generator, make_sessionmaker(engine), **kwargs)

    return build


class SourcedGenerator:
    """A generator that gives one reply and says where it came from, as the hybrid does."""

    version = "sourced-1"

    def __init__(self, source: dict[str, Any] | None = None, text: str = SOURCED_REPLY) -> None:
        self.source = RETRIEVED if source is None else source
        self.text = text

    def reply(self, context: ReplyContext) -> Generated:
        return Generated(self.text, source=self.source)


def pending_reply(session: Session, text: str) -> None:
    """A reply waiting in X's outbox: its text is taken for the duplicate rule's window."""
    session.add(
        OutboxReply(
            mention_id=abs(hash(text)) % 10**12,
            account_id="bot",
            author_id="someone",
            text=text,
            text_key=text_key(text),
            status=PENDING,
        )
    )
