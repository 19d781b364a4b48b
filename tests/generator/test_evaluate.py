"""Evaluation metrics on inputs whose answers are known."""

from __future__ import annotations

import math

import pytest

from generator.evaluate import (
    NLL,
    average_length,
    distinct_n,
    generic_rate,
    on_topic_rate,
    salience,
)


def test_word_perplexity_is_exp_of_nll_per_word() -> None:
    nll = NLL(total=20.0, tokens=12, words=10)
    assert nll.word_perplexity == pytest.approx(math.exp(2.0))
    assert nll.token_loss == pytest.approx(20 / 12)


def test_distinct_n() -> None:
    replies = ["i am ok", "i am fine"]
    assert distinct_n(replies, 1) == pytest.approx(4 / 6)
    assert distinct_n(replies, 2) == pytest.approx(3 / 4)
    assert distinct_n([], 2) == 0.0


def test_generic_rate_counts_the_top_replies() -> None:
    replies = ["I don't know."] * 5 + [f"reply {i}" for i in range(15)]
    assert generic_rate(replies, top=1) == pytest.approx(5 / 20)
    assert generic_rate(replies, top=10) == pytest.approx(14 / 20)
    assert generic_rate(["i don't know", "I don't know!"], top=1) == 1.0


def test_salience_rewards_shared_rare_words() -> None:
    messages = ["do robots dream of sheep", "do robots dream of sheep"]
    on_point = salience(messages, ["robots dream of sheep", "robots dream of sheep"])
    generic = salience(messages, ["i do not know", "i do not know"])
    unrelated = salience(messages, ["pizza tonight", "pizza tonight"])
    assert unrelated == 0.0
    assert 0 < generic < on_point <= 1.0 + 1e-9


def test_on_topic_rate_and_length() -> None:
    replies = ["I love my computer", "tea time", "Robots are cool"]
    assert on_topic_rate(replies, ["computer", "robots"]) == pytest.approx(2 / 3)
    assert average_length(replies) == pytest.approx(3.0)
