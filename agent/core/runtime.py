"""Assemble a ready agent from settings: script, NLU, generator, database."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

import generator
import nlu
from agent.core.pipeline import Agent, Thresholds
from agent.core.script import DialogueScript, load_script
from agent.mlops.registry.watcher import serve_active_versions, watch_from_settings
from agent.settings import Settings
from agent.storage.db import make_engine, make_sessionmaker
from agent.storage.migrate import ensure_current

log = logging.getLogger(__name__)


def load_checked_script(settings: Settings) -> DialogueScript:
    """The dialogue script, checked against the intents the NLU is trained on.

    :raise ScriptError: or ``nlu.DataError``, listing every problem with file and line.
    """
    intents = nlu.load_intents(settings.intents_path)
    return load_script(settings.dialogue_path, intents.intent_names)


def build_agent(
    settings: Settings, engine: Engine | None = None, *, watch_models: bool = False
) -> Agent:
    """An agent on ``engine`` (or the settings' database), refusing an unmigrated schema.

    It serves the registry's promoted models when there are any (else the settings' paths);
    long-running processes pass ``watch_models`` to swap in newly promoted versions as they come.
    """
    engine = engine or make_engine(settings.database_url)
    ensure_current(engine)
    script = load_checked_script(settings)
    parser = nlu.load(settings.nlu_model)
    replier = None
    if settings.generator_model.exists():
        replier = generator.load(settings.generator_model, rerank=settings.generator_rerank)
    else:
        log.warning(
            "no generator model at %s: fallback turns use the script's canned lines",
            settings.generator_model,
        )
    agent = Agent(
        script,
        parser,
        replier,
        make_sessionmaker(engine),
        thresholds=Thresholds(settings.nlu_threshold, settings.nlu_margin),
        session_timeout_minutes=settings.session_timeout_minutes,
        max_message_chars=settings.max_message_chars,
    )
    if watch_models:
        watch_from_settings(agent, settings)  # its first poll serves the promoted versions
    else:
        serve_active_versions(agent, settings)
    return agent
