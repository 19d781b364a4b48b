"""Assemble an agent from settings: the checked script, the NLU, the generator, a database."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

import generator
import nlu
from agent.core.pipeline import Agent
from agent.core.script import DialogueScript, load_script
from agent.settings import Settings

log = logging.getLogger(__name__)


def load_checked_script(settings: Settings) -> DialogueScript:
    """The dialogue script, checked against the intents the NLU is trained on.

    :raise ScriptError: or ``nlu.DataError``, listing every problem with file and line.
    """
    intents = nlu.load_intents(settings.intents_path)
    return load_script(settings.dialogue_path, intents.intent_names)


def build_agent(settings: Settings, sessions: sessionmaker[Session]) -> Agent:
    """An agent on ``sessions`` with the models at the settings' paths.

    :class:`agent.context.AppContext` builds it once per process and then lets the model
    registry swap in its promoted versions.
    """
    script = load_checked_script(settings)
    parser = nlu.load(settings.nlu_model)
    replier = None
    if settings.generator_model.exists():
        replier = generator.load(
            settings.generator_model,
            rerank=settings.generator_rerank,
            retrieve=settings.generator_retrieve,
            threads=settings.generator_threads,
        )
    else:
        log.warning(
            "no generator model at %s: fallback turns use the script's canned lines",
            settings.generator_model,
        )
    return Agent(
        script,
        parser,
        replier,
        sessions,
        threshold=settings.nlu_threshold,
        margin=settings.nlu_margin,
        session_timeout_minutes=settings.session_timeout_minutes,
        max_message_chars=settings.max_message_chars,
    )
