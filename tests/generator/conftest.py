"""Shared fixtures: a small synthetic corpus and a tiny model trained once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from generator.config import DataConfig, ModelConfig, TrainConfig

# One thread: tiny models gain nothing from two, and a busy 2-core box makes OpenMP spin.
torch.set_num_threads(1)

_AI = [
    ("do you think computers can fall in love?", "no, a computer only does what its code says."),
    ("would you turn off a robot that asked you not to?", "i would ask the robot why first."),
    ("what is your favorite movie computer?", "hal from the space odyssey, he is creepy."),
    ("can machines ever think like people?", "maybe one day, the algorithms keep improving."),
    ("should computers get the right to vote?", "only if the computer pays taxes too."),
]
_GENERAL = [
    ("how are you today?", "i am good, just had a long nap."),
    ("what did you eat for lunch?", "a sandwich with cheese and tomato."),
    ("do you like the beach?", "yes, i love swimming in the sea."),
    ("what music do you listen to?", "mostly jazz and some old rock."),
    ("where did you grow up?", "in a small town near the mountains."),
]


def corpus_records(repeat: int = 6) -> list[dict[str, object]]:
    """Threaded JSONL records: each pair repeated with a follow-up turn, two topics."""
    records = []
    n = 0
    for topic, pairs in (("ai", _AI), ("general", _GENERAL)):
        for r in range(repeat):
            for msg, reply in pairs:
                turns = [msg, reply, f"that is interesting, tell me more ({r})"]
                records.append({"id": f"c{n}", "topic": topic, "turns": turns})
                n += 1
    return records


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-conversation JSONL corpus on disk."""
    path = tmp_path_factory.mktemp("corpus") / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in corpus_records()) + "\n")
    return path


KINDS = ("lstm", "transformer")


def tiny_model_config(kind: str = "lstm", vocab_size: int = 300) -> ModelConfig:
    """The tiny network of either kind (about the same size)."""
    return ModelConfig(
        vocab_size=vocab_size,
        embed_dim=32,
        hidden_dim=64,
        num_layers=1,
        dropout=0.0,
        kind=kind,
        heads=4,
        ff_dim=64,
    )


def tiny_config(corpus: Path, out: Path, kind: str = "lstm", **over: object) -> TrainConfig:
    """Smallest useful model: trains a few epochs in a few seconds on CPU."""
    cfg = TrainConfig(
        model=tiny_model_config(kind),
        data=DataConfig(
            corpus=str(corpus),
            context_turns=2,
            max_source_tokens=48,
            max_target_tokens=24,
            val_fraction=0.2,
        ),
        out_dir=str(out),
        epochs=2,
        batch_size=16,
        lr=1e-2,
        warmup_steps=2,
        patience=5,
        label_smoothing=0.0,
        num_threads=1,
    )
    for k, v in over.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="session")
def tiny_model(corpus_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory with best.pt/last.pt from a short real training run."""
    from generator.train import train

    out = tmp_path_factory.mktemp("run")
    train(tiny_config(corpus_file, out, epochs=3), progress=False, log=lambda _: None)
    return out


@pytest.fixture(scope="session")
def tiny_transformer(corpus_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same short run with the Transformer kind."""
    from generator.train import train

    out = tmp_path_factory.mktemp("run_transformer")
    cfg = tiny_config(corpus_file, out, kind="transformer", epochs=3)
    train(cfg, progress=False, log=lambda _: None)
    return out


@pytest.fixture(params=KINDS)
def tiny_model_of_kind(request: pytest.FixtureRequest) -> Path:
    """A tiny trained model of each kind in turn: the tests that must hold for both."""
    name = "tiny_model" if request.param == "lstm" else "tiny_transformer"
    return request.getfixturevalue(name)
