"""The promotion gate refuses a deliberately worse generator and keeps the active one serving."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agent.mlops.registry.versions import active_version, list_versions
from agent.mlops.retrain.gate import higher_is_better, lower_is_better
from agent.mlops.retrain.generator_job import retrain_generator
from agent.mlops.retrain.publish import Candidate, publish
from agent.storage.db import make_sessionmaker
from generator.train import load_splits
from tests.agent.mlops.conftest import TOPIC, make_settings, tiny_config

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels


def shuffle_train_replies(corpus: Path, out: Path) -> Path:
    """The corpus with every training reply moved to another conversation; validation intact.

    Ids are kept, so the hash split puts the same conversations in the held-out set: both
    models are scored on exactly the same fixed data.
    """
    train, val = load_splits(tiny_config(corpus).data)
    replies = [c.turns[1] for c in train]
    random.Random(3).shuffle(replies)
    with out.open("w") as fh:
        for conv, reply in zip(train, replies, strict=True):
            turns = [conv.turns[0], reply, *conv.turns[2:]]
            fh.write(json.dumps({"id": conv.id, "topic": conv.topic, "turns": turns}) + "\n")
        for conv in val:
            fh.write(json.dumps({"id": conv.id, "topic": conv.topic, "turns": conv.turns}) + "\n")
    return out


def test_gate_refuses_a_model_trained_on_shuffled_targets(
    sqlite_engine: Engine, tmp_path: Path, corpus: Path
) -> None:
    settings = make_settings(sqlite_engine, tmp_path)
    sessions = make_sessionmaker(sqlite_engine)
    quiet = {"default_topic": TOPIC, "progress": False, "log": lambda _: None}
    good = retrain_generator(
        settings, sessions, config=tiny_config(corpus, epochs=3), from_scratch=True, **quiet
    )
    assert good.published is not None and good.published.promoted

    shuffled = shuffle_train_replies(corpus, tmp_path / "shuffled.jsonl")
    bad = retrain_generator(
        settings, sessions, config=tiny_config(shuffled, epochs=3), from_scratch=True, **quiet
    )
    assert bad.snapshot.file("heldout_base").read_bytes() == (
        good.snapshot.file("heldout_base").read_bytes()
    )
    assert not bad.gate.passed
    assert bad.gate.summary().startswith("refused: heldout_base")
    # A plain served model: no index or ranker is built, and the gate says why it has no Hits.
    assert bad.gate.checks[-1] == "ranker_hits_at_1 skipped: the served model has no ranker"
    assert bad.fallback is None and "ranker_hits_at_1" not in bad.metrics
    assert bad.active_metrics is not None
    base_new, base_old = bad.metrics["heldout_base"], bad.active_metrics["heldout_base"]
    assert base_new is not None and base_old is not None and base_new > base_old
    # Registered for the record, never promoted: the good model keeps serving.
    assert bad.published is not None and not bad.published.promoted
    with sessions() as session:
        active = active_version(session, "generator")
        assert active is not None and active.version == good.published.version
        refused = list_versions(session, "generator")[-1]
        assert refused.gate is not None and refused.gate.startswith("refused")

    # --promote: the same refused verdict, promoted anyway, and the registry says so.
    forced = publish(
        sessions,
        Candidate(
            kind="generator",
            files=good.published.path,
            data_hash=bad.snapshot.data_hash,
            data_sizes=bad.snapshot.sizes,
            config={},
            metrics=dict(bad.metrics),
            active_metrics=dict(bad.active_metrics),
            gate=bad.gate,
            served_as=lambda path: f"forced@{path.name}",
        ),
        model_dir=settings.model_dir,
        store=None,
        force=True,
        by="alice",
    )
    assert forced.promoted and forced.version == "generator-0003"
    with sessions() as session:
        active = active_version(session, "generator")
        assert active is not None and active.version == "generator-0003"
        assert active.gate is not None and active.gate.endswith("(promotion forced)")


def test_margins() -> None:
    assert lower_is_better({"ppl": 10.1}, {"ppl": 10.0}, 0.02).passed
    assert not lower_is_better({"ppl": 10.3}, {"ppl": 10.0}, 0.02).passed
    assert lower_is_better({"ppl": None}, {"ppl": 10.0}, 0.0).checks == (
        "no metric in common with the active model",
    )
    assert higher_is_better({"acc": 0.895}, {"acc": 0.9}, 0.01).passed
    assert not higher_is_better({"acc": 0.88, "oos": 0.95}, {"acc": 0.9, "oos": 0.9}, 0.01).passed
    assert higher_is_better({"acc": 0.5}, None, 0.0).checks == ("no active model to compare with",)
