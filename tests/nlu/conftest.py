"""NLU fixtures: a small data set written to disk and one model trained on it per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.data import TrainingData, load_intents
from nlu.model import NLUModel, load
from nlu.train import TrainOptions, save, train

SMALL_INTENTS = """\
version: 1
intents:
  - name: greet
    examples:
      - hi
      - hello
      - hey there
      - good morning
      - hello bot
      - hiya
      - howdy
      - hey, how are you
  - name: goodbye
    examples:
      - bye
      - goodbye
      - see you later
      - talk to you later
      - good night
      - catch you later
      - gotta go, bye
      - see ya
  - name: share_interest
    examples:
      - I'm interested in [machine learning](ai_topic)
      - I love [computer vision](ai_topic)
      - tell me about [robotics](ai_topic)
      - I work on [ml](ai_topic)
      - let's talk about [neural networks](ai_topic)
      - I'm curious about [robots](ai_topic)
      - mostly [deep learning](ai_topic)
      - I want to learn [reinforcement learning](ai_topic)
  - name: out_of_scope
    examples:
      - what's the weather tomorrow
      - order me a pizza
      - book a flight to paris
      - play some music
      - how tall is mount everest
      - set an alarm for 7am
      - recommend a good restaurant
      - who won the football game
entities:
  ai_topic:
    synonyms:
      machine learning: [ml, machine-learning]
      robotics: [robots, robot]
    lookup:
      - deep learning
      - neural networks
    patterns:
      - "gpt-?\\\\d+"
"""


@pytest.fixture(scope="session")
def small_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small data set as an intents.yml file."""
    path = tmp_path_factory.mktemp("data") / "intents.yml"
    path.write_text(SMALL_INTENTS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_data(small_path: Path) -> TrainingData:
    """The small data set, loaded."""
    return load_intents(small_path)


@pytest.fixture(scope="session")
def model_dir(small_data: TrainingData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once on the small data set and saved (seeded, so the same every run)."""
    nlp = train(small_data, options=TrainOptions(seed=0, progress=False))
    return save(nlp, tmp_path_factory.mktemp("model") / "nlu")


@pytest.fixture(scope="session")
def model(model_dir: Path) -> NLUModel:
    """The trained small model, loaded from disk as the agent loads it."""
    return load(model_dir)
