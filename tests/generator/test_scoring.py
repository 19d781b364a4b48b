"""The pieces `generator eval` and the finetune gate share, on the tiny corpus and model."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import DataConfig
from generator.data import Conversation, load_corpus
from generator.scoring import (
    Exchange,
    generate_replies,
    perplexity,
    sample_exchanges,
    split_for_eval,
    text_metrics,
)
from generator.service import load
from generator.types import ReplyContext

pytestmark = pytest.mark.torch


def test_split_for_eval_partitions_by_conversation(corpus_file: Path) -> None:
    data = DataConfig(corpus=str(corpus_file), val_fraction=0.2, split_seed=3)
    convs = load_corpus(str(corpus_file))
    validation = split_for_eval(convs, data, "validation")
    train = split_for_eval(convs, data, "train")
    everything = split_for_eval(convs, data, "all")
    assert validation and train
    assert {c.id for c in validation}.isdisjoint({c.id for c in train})
    assert len(validation) + len(train) == len(everything)
    only_ai = split_for_eval(convs, data, "all", topics=["ai"])
    assert only_ai and all(c.topic == "ai" for c in only_ai)


def test_sample_exchanges_is_seeded_and_bounded() -> None:
    convs = [Conversation(f"c{i}", (f"hello {i}", f"hi {i}", f"bye {i}")) for i in range(10)]
    first = sample_exchanges(convs, 2, 7)
    assert first == sample_exchanges(convs, 2, 7) and len(first) == 7
    assert first != sample_exchanges(convs, 2, 7, seed=1)
    assert len(sample_exchanges(convs, 2, 1000)) == 20  # every reply at most once
    assert all(e.message == e.context[-1] and len(e.context) <= 2 for e in first)


def test_text_metrics_count_generic_and_on_topic_replies() -> None:
    exchanges = [Exchange(("do robots dream?",), "robots dream of code", None)] * 4
    replies = ["robots dream of sheep", "ok", "ok", "ok"]
    figures = text_metrics(exchanges, replies, ["robots"])
    assert figures["on_topic_rate"] == pytest.approx(0.25)
    assert figures["reference_on_topic_rate"] == pytest.approx(1.0)
    assert figures["generic_rate_top10"] == pytest.approx(1.0)  # 2 distinct texts, both top 10
    assert figures["salience_tfidf"] < figures["reference_salience_tfidf"]
    assert "on_topic_rate" not in text_metrics(exchanges, replies)


def test_generate_replies_returns_raw_and_guarded_replies(tiny_model: Path) -> None:
    gen = load(tiny_model, beam_size=2, max_tokens=8, num_samples=2)
    contexts = [ReplyContext((f"what do you think of robots {i}?",), topic="ai") for i in range(70)]
    raw, sent = generate_replies(gen, contexts)  # more than one batch of 64
    assert len(raw) == len(sent) == 70
    assert raw[:3] == [c[0].text for c in gen.candidates(contexts[:3])]
    assert all(out.text is not None or out.rejected_reason for out in sent)
    assert any(out.text for out in sent)  # the guard let ordinary replies through
    convs = [Conversation("x", ("do you like robots?", "yes, robots are fun."))]
    nll, pairs = perplexity(gen, convs, 2)
    assert pairs == 1 and nll.words == 5 and nll.total > 0
