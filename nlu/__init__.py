"""Intent and entity detection for threadbot: train, save, load, parse, evaluate.

Self-contained: this package never imports ``agent`` or ``web``.
"""

from nlu.data import TrainingData, load_data, load_intents
from nlu.errors import DataError, ModelNotFoundError, NLUError, Problem
from nlu.model import NLUModel, load
from nlu.types import Entity, IntentParser, IntentScore, Parse

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
