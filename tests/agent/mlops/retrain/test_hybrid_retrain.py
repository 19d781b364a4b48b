"""Retraining a hybrid-served deployment: the release gets its own reply index and ranker, and
the gate compares the rankers' Hits@1/20 as well as perplexities."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import generator
from agent.mlops.retrain.gate import HITS_TOLERANCE, RANKER_METRIC
from agent.mlops.retrain.generator_job import (
    FallbackOptions,
    GeneratorRetrain,
    index_corpora,
    judge,
    retrain_generator,
)
from agent.settings import Settings
from agent.storage.db import make_sessionmaker
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.fallback_build import Corpus, FallbackReport, build_fallback
from generator.index import BuildReport, ReplyIndex
from generator.ranker import Ranker
from generator.reuse import ReplySource
from tests.agent.mlops.conftest import TOPIC, make_settings, tiny_config, write_corpus
from tests.agent.mlops.retrain.test_extra_corpus import collected_corpus
from tests.conftest import run_cli as run
from tests.generator.test_fallback_build import write_collected
from tests.scratch_db import sqlite_database

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

TWEETS = ReplySource("tweets", "collected from X", reuse_allowed=True)
CONSENT = "corpus 'drones' (collected from X) has no consent to reuse its text"


def set_served_hits(folder: Path, hits: float) -> None:
    """Rewrite the folder's ranker.json as if its build had scored ``hits`` on validation."""
    path = folder / RANKER_FILE
    data = json.loads(path.read_text())
    data["trained_on"]["validation"]["ranker"]["hits_at_1"] = hits
    path.write_text(json.dumps(data))


Retrained = tuple[GeneratorRetrain, Path, str]  # the run, the served v1's folder, the log


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Retrained]:
    """A hybrid v1 serving (its ranker claiming a perfect Hits@1), then a retrain given a
    collected corpus without --allow-reuse: two trainings, shared by the module's tests."""
    tmp = tmp_path_factory.mktemp("hybrid")
    with sqlite_database(tmp / "bot.db") as engine:
        yield _retrain_hybrid(make_settings(engine, tmp), make_sessionmaker(engine), tmp)


def _retrain_hybrid(settings: Settings, sessions: sessionmaker[Session], tmp: Path) -> Retrained:
    corpus = write_corpus(tmp / "base.jsonl")
    quiet = {"default_topic": TOPIC, "progress": False, "log": lambda _: None}
    first = retrain_generator(
        settings, sessions, config=tiny_config(corpus, epochs=3), from_scratch=True, **quiet
    )
    assert first.published is not None and first.fallback is None
    v1 = first.published.path
    index_with = Corpus(str(write_collected(tmp / "tweets.jsonl")), TWEETS)
    build_fallback(v1, [index_with], train_examples=40, validation_examples=20)
    set_served_hits(v1, 1.0)

    lines: list[str] = []
    second = retrain_generator(
        settings,
        sessions,
        default_topic=TOPIC,
        config=tiny_config(corpus, epochs=2),
        extra_corpora=[collected_corpus(tmp / "drones.jsonl")],
        fallback=FallbackOptions((index_with,), train_examples=40, validation_examples=20),
        progress=False,
        log=lines.append,
    )
    return second, v1, "\n".join(lines)


def test_release_gets_its_own_index_and_ranker(retrained: Retrained) -> None:
    result, v1, _ = retrained
    assert result.published is not None and result.fallback is not None
    release = result.published.path
    assert (release / INDEX_FILE).is_file() and (release / RANKER_FILE).is_file()
    assert (release / INDEX_FILE).read_bytes() != (v1 / INDEX_FILE).read_bytes()
    loaded = generator.load(release)
    assert loaded.hybrid and loaded.version != generator.load(v1).version
    ranker = Ranker.load(release / RANKER_FILE)
    assert ranker.trained_on["validation"] == result.fallback.selection


def test_collected_corpus_stays_out_of_the_index_without_consent(
    retrained: Retrained,
) -> None:
    result, _, log = retrained
    assert f"left out of the reply index: {CONSENT}" in log and "--allow-reuse" in log
    assert result.published is not None
    index = ReplyIndex(result.published.path / INDEX_FILE)
    try:
        assert index.sources == {"tweets": TWEETS.licence}
    finally:
        index.close()
    # It still trained the model: its conversations are in the snapshot.
    assert "extra corpora" in log


def test_gate_refuses_a_ranker_worse_than_the_served_one(
    retrained: Retrained,
) -> None:
    result, _, log = retrained
    hits = result.metrics[RANKER_METRIC]
    assert hits is not None and hits < 1.0 - HITS_TOLERANCE
    assert result.active_metrics is not None and result.active_metrics[RANKER_METRIC] == 1.0
    assert not result.gate.passed
    check = f"{RANKER_METRIC} {hits:.3f} < {1.0 - HITS_TOLERANCE:.3f} (active 1.000)"
    assert check in result.gate.checks and "gate refused: " in log and check in log
    assert result.published is not None and not result.published.promoted


def test_hits_tolerance(retrained: Retrained, tmp_path: Path) -> None:
    result, v1, _ = retrained
    assert isinstance(result.fallback, FallbackReport)
    hits = result.fallback.selection["ranker"]["hits_at_1"]
    served = tmp_path / "served"
    shutil.copytree(v1, served)
    ppl = {"heldout_base": 10.0}
    for above, passes in ((HITS_TOLERANCE - 0.01, True), (HITS_TOLERANCE + 0.01, False)):
        set_served_hits(served, hits + above)
        gate, metrics, active = judge(ppl, ppl, 0.02, result.fallback, served, HITS_TOLERANCE)
        assert gate.passed is passes, gate.summary()
        assert gate.checks[0].startswith("heldout_base 10.00 <=")
        assert gate.checks[1].startswith(f"{RANKER_METRIC} {hits:.3f}")
        assert active is not None and active[RANKER_METRIC] == pytest.approx(hits + above)
        assert metrics[RANKER_METRIC] == round(hits, 4)


def test_hits_rule_skipped_without_a_served_ranker(retrained: Retrained, tmp_path: Path) -> None:
    _, v1, _ = retrained
    ppl = {"heldout_base": 10.0}
    gate, metrics, _ = judge(ppl, ppl, 0.02, None, tmp_path, HITS_TOLERANCE)  # no index built
    assert (
        gate.passed and gate.checks[1] == f"{RANKER_METRIC} skipped: the served model has no ranker"
    )
    assert RANKER_METRIC not in metrics
    served = tmp_path / "served"
    shutil.copytree(v1, served)
    ranker = Ranker.load(served / RANKER_FILE)
    replace(ranker, trained_on={"by": "hand"}).save(served / RANKER_FILE)
    built = FallbackReport(BuildReport(), {"ranker": {"hits_at_1": 0.1, "mrr": 0.2}})
    gate, _, active = judge(ppl, ppl, 0.02, built, served, HITS_TOLERANCE)
    assert gate.passed and gate.checks[1].endswith("the served ranker records no validation Hits@1")
    assert active is not None and active[RANKER_METRIC] is None


def test_collected_corpus_joins_the_index_with_consent(tmp_path: Path) -> None:
    drones = tmp_path / "drones.jsonl"
    said: list[str] = []
    corpora = index_corpora(FallbackOptions(allow_reuse=True), [drones], said.append)
    assert [c.source.name for c in corpora] == ["chitchat", "drones"] and not said
    assert corpora[1] == Corpus(str(drones), ReplySource("drones", "collected from X", True))


def test_retrain_command_offers_allow_reuse() -> None:
    code, out = run("retrain", "generator", "--help")
    assert code == 0
    assert "--allow-reuse" in out and "responsibility" in out
    assert "--ranker-train-examples" in out and "--ranker-validation-examples" in out
