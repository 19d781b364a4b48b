"""Agent fixtures: the shipped script and NLU model, on a real database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

import nlu
from agent.core.pipeline import Agent
from agent.core.script import DialogueScript, load_script
from agent.storage.db import make_sessionmaker
from tests.conftest import ROOT

DIALOGUE = ROOT / "data" / "bot" / "dialogue.yml"
INTENTS = ROOT / "data" / "bot" / "intents.yml"


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
