"""Retrain fixtures: a small on-topic corpus, a tiny CPU generator preset, settings on tmp dirs."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from sqlalchemy import Engine

from agent.settings import Settings, load_settings
from generator.config import DataConfig, ModelConfig, TrainConfig
from tests.agent.conftest import make_agent, parser, script  # noqa: F401  (shared fixtures)
from tests.conftest import ROOT

TOPIC = "artificial intelligence"  # the shipped script's topic: what the agent hands the model
THINGS = ["robots", "computers", "chatbots", "neural networks", "drones", "search engines"]
OPENERS = ["do you like {t}", "what do you think about {t}", "are {t} useful", "can {t} learn"]
ANSWERS = [
    "i think {t} are great",
    "{t} can learn from data",
    "yes {t} help people every day",
    "i am not sure about {t}",
    "{t} are getting smarter every year",
]
FOLLOWS = ["why do you say that", "really", "that is interesting", "tell me more"]
REASONS = ["because they save time", "people build them to help", "they learn from examples"]


def write_corpus(path: Path, conversations: int = 160, seed: int = 0) -> Path:
    """Threaded JSONL chit-chat about AI, generated from templates with a fixed seed."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for n in range(conversations):
            thing = rng.choice(THINGS)
            turns = [rng.choice(OPENERS).format(t=thing), rng.choice(ANSWERS).format(t=thing)]
            if rng.random() < 0.6:
                turns += [rng.choice(FOLLOWS), rng.choice(REASONS)]
            rec = {"id": f"c{n}", "topic": TOPIC, "turns": turns}
            fh.write(json.dumps(rec) + "\n")
    return path


def tiny_config(corpus: Path, **train: Any) -> TrainConfig:
    """A model that trains in a few seconds on two busy cores."""
    values: dict[str, Any] = {
        "epochs": 6,
        "batch_size": 16,
        "lr": 1e-2,
        "min_lr": 1e-3,
        "warmup_steps": 5,
        "patience": 3,
        "label_smoothing": 0.0,
        "num_threads": 1,
        "seed": 7,
    }
    values.update(train)
    return TrainConfig(
        model=ModelConfig(vocab_size=400, embed_dim=48, hidden_dim=64, num_layers=1, dropout=0.0),
        data=DataConfig(
            corpus=str(corpus),
            topics=[TOPIC],
            context_turns=2,
            max_source_tokens=48,
            max_target_tokens=24,
            val_fraction=0.2,
        ),
        **values,
    )


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # Tiny models gain nothing from threads, and on a busy machine OpenMP workers spin-wait:
    # a step took 30x longer with two threads than with one (measured under load 12 on 2 cores).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "base.jsonl")


def make_settings(engine: Engine, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on ``engine`` with a fresh model dir; the shipped script and NLU model."""
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "data_dir": ROOT / "data" / "bot",
        "nlu_model": ROOT / "models" / "nlu",
        "generator_model": tmp_path / "no-generator",
        "model_dir": tmp_path / "models",
        "model_store": None,
    }
    values.update(overrides)
    return load_settings(**values)
