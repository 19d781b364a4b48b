"""The BPE tokenizer: round trip, no unknowns, topic tokens, context truncation."""

from __future__ import annotations

import pytest

from generator.tokenizer import NO_TOPIC, BPETokenizer, topic_token

TEXTS = ["hello there how are you", "computers can think", "i love robots and tea"] * 20


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(TEXTS, 300, topics=["ai", "general", None])


@pytest.mark.parametrize(
    "text",
    ["hello there how are you", "Zyzzyva qwxq!", "café naïve 日本語 👋🏽", "don't   stop"],
)
def test_round_trip_has_no_unknowns(tok: BPETokenizer, text: str) -> None:
    ids = tok.encode(text)
    assert tok.tok.token_to_id("<unk>") not in ids
    assert tok.decode(ids) == text  # byte-level BPE round-trips exactly, spacing included


def test_specials_and_topics(tok: BPETokenizer) -> None:
    assert tok.pad_id == 0
    assert tok.topic_id("AI") == tok.tok.token_to_id("<t:ai>")
    assert tok.topic_id("never-seen") == tok.no_topic_id == tok.tok.token_to_id(NO_TOPIC)
    assert topic_token(None) == NO_TOPIC
    assert tok.eos_id not in tok.banned_ids and tok.topic_id("ai") in tok.banned_ids
    assert tok.decode([tok.bos_id, *tok.encode("hello"), tok.eos_id]) == "hello"


def test_context_keeps_the_newest_tokens(tok: BPETokenizer) -> None:
    last = tok.encode("computers can think")
    ids = tok.encode_context(
        ["hello there how are you", "computers can think"], "ai", len(last) + 1
    )
    assert ids == [tok.topic_id("ai"), *last]  # the older turn and the <sep> were dropped
    full = tok.encode_context(["hi", "tea"], None, 64)
    assert full == [tok.no_topic_id, *tok.encode("hi"), tok.sep_id, *tok.encode("tea")]


def test_serialises_to_a_string(tok: BPETokenizer) -> None:
    again = BPETokenizer.from_str(tok.to_str())
    assert again.encode("robots think") == tok.encode("robots think")
    assert again.vocab_size == tok.vocab_size
