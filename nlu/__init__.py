"""Intent and entity detection for threadbot: train, save, load, parse, evaluate.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from typing import TYPE_CHECKING, Any

from nlu.data import TrainingData, load_intents
from nlu.datafiles import load_data
from nlu.errors import DataError, ModelNotFoundError, NLUError, Problem
from nlu.types import Entity, IntentParser, IntentScore, Parse

if TYPE_CHECKING:
    from nlu.model import NLUModel, load


def __getattr__(name: str) -> Any:
    """Import spaCy (and, through thinc, torch) only when a model is used: seconds saved on
    every command that never parses, such as ``threadbot --help`` or ``threadbot validate``."""
    if name in {"NLUModel", "load"}:
        from nlu import model

        return getattr(model, name)
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")


__all__ = [
    "DataError",
    "Entity",
    "IntentParser",
    "IntentScore",
    "ModelNotFoundError",
    "NLUError",
    "NLUModel",
    "Parse",
    "Problem",
    "TrainingData",
    "load",
    "load_data",
    "load_intents",
]
