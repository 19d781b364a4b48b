"""Exceptions the generator raises; all derive from ``GeneratorError``."""

from __future__ import annotations

from pathlib import Path

CREATE_COMMAND = "threadbot generator train --config configs/generator/default.toml"


class GeneratorError(Exception):
    """Base class for every error this package raises on purpose."""


class CorpusError(GeneratorError, ValueError):
    """A corpus file is missing or malformed; the message names the file and line."""


class ModelNotFoundError(GeneratorError, FileNotFoundError):
    """A model directory is missing or holds no usable checkpoint."""

    def __init__(self, path: str | Path, why: str) -> None:
        super().__init__(
            f"no generator model at {path}: {why}. Create one with `{CREATE_COMMAND} "
            f"--out DIR` (models/generator/MODEL_CARD.md shows how the default is made), or "
            f"point THREADBOT_GENERATOR_MODEL at an existing model directory."
        )
        self.path = Path(path)
