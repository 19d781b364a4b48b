"""Load a registered version's files, pulling them from the model store when not on this disk."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import generator
import nlu
from agent.mlops.registry.models import ModelVersion
from agent.mlops.registry.store import ModelStore, StorageError, open_store
from agent.settings import Settings
from generator.types import ReplyGenerator
from nlu.types import IntentParser

log = logging.getLogger(__name__)


def store_for(settings: Settings) -> ModelStore | None:
    """The configured model store (THREADBOT_MODEL_STORE), or None to use local paths only."""
    return open_store(settings.model_store) if settings.model_store else None


def local_path(row: ModelVersion, model_dir: Path, store: ModelStore | None) -> Path:
    """A folder on this machine holding ``row``'s files: its own path, or a verified pull.

    :raise StorageError: the files are neither here nor in the store.
    """
    path = Path(row.path)
    if path.exists():
        return path
    pulled = model_dir / row.kind / row.version
    if pulled.exists():
        return pulled
    if store is None:
        raise StorageError(f"{row.kind} {row.version}: {path} is missing and no model store is set")
    log.info("pulling %s %s from %s", row.kind, row.version, store.describe())
    return store.pull(row.kind, row.version, pulled)


def load_parser(path: Path) -> IntentParser:
    """An NLU model ready to parse."""
    return nlu.load(path)


def load_generator(path: Path, like: ReplyGenerator | None = None) -> ReplyGenerator:
    """A generator ready to reply, searching as ``like`` (the one it replaces) does.

    A promoted version changes the weights, never how replies are searched: the decoding options
    (re-ranking included, which ``build_agent`` took from the settings) carry over.
    """
    options = getattr(like, "options", None)
    return generator.load(path, **(asdict(options) if options is not None else {}))
