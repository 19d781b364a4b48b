"""Cleaning, topic filtering, dedup and the by-conversation split."""

from __future__ import annotations

import pytest

from generator.clean import (
    clean_conversation,
    dedup,
    has_personal_data,
    prepare,
    scrub,
    split_conversations,
    topic_filter,
)
from generator.data import Conversation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://t.co/abc123 now", "see now"),
        ("visit www.example.com/page today", "visit today"),
        ("@alice hi there @bob_2", "hi there"),
        ("mail me at jo.doe+x@example.co.uk ok", "mail me at ok"),
        ("call +1 (555) 123-4567 tonight", "call tonight"),
        ("in 2019 I had 3 cats", "in 2019 I had 3 cats"),
        ("  lots   of   space ", "lots of space"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_has_personal_data_names_the_kind() -> None:
    assert has_personal_data("go to https://x.io") == "url"
    assert has_personal_data("ask @someone") == "handle"
    assert has_personal_data("my email is a@b.com") == "personal_data"
    assert has_personal_data("text 555-123-4567") == "personal_data"
    assert has_personal_data("I am 25 and have 2 dogs") is None


def test_clean_cuts_long_turns_and_splits_at_emptied_turns() -> None:
    conv = Conversation("t", ("one two three four", "ok then", "@bob", "new start", "yes"))
    pieces = clean_conversation(conv, max_turn_words=2)
    assert [p.turns for p in pieces] == [("one two", "ok then"), ("new start", "yes")]
    assert [p.id for p in pieces] == ["t#0", "t#1"]
    assert clean_conversation(Conversation("s", ("alone",)), 10) == []


def test_topic_filter_by_label_keyword_or_both() -> None:
    convs = [
        Conversation("1", ("i love my computer", "me too"), "general"),
        Conversation("2", ("hello", "hi"), "ai"),
        Conversation("3", ("nice weather", "yes"), "general"),
        Conversation("4", ("computers!", "ok"), None),
    ]
    assert [c.id for c in topic_filter(convs, topics=["AI"])] == ["2"]
    assert [c.id for c in topic_filter(convs, keywords=["computer"])] == ["1"]
    assert [c.id for c in topic_filter(convs, ["ai"], ["computer", "computers"])] == ["1", "2", "4"]
    assert len(topic_filter(convs)) == 4


def test_dedup_ignores_case_and_spacing() -> None:
    convs = [
        Conversation("a", ("Hi there", "Hello")),
        Conversation("b", ("hi  there", "hello")),
        Conversation("c", ("hi there", "bye")),
    ]
    assert [c.id for c in dedup(convs)] == ["a", "c"]


def test_split_is_by_conversation_stable_and_honours_source_split() -> None:
    convs = [Conversation(f"c{i}", ("a", f"b{i}")) for i in range(400)]
    convs += [
        Conversation("c7#1", ("x", "y")),
        Conversation("fixed", ("p", "q"), split="validation"),
    ]
    train, val = split_conversations(convs, 0.2, seed=1)
    assert len(train) + len(val) == len(convs)
    assert not {c.id for c in train} & {c.id for c in val}
    assert 40 < len(val) < 130
    assert "fixed" in {c.id for c in val}
    side = {c.id: c.split for c in train + val}
    assert side["c7"] == side["c7#1"]  # pieces of one thread stay together
    _train2, val2 = split_conversations(list(reversed(convs)), 0.2, seed=1)
    assert {c.id for c in val2} == {c.id for c in val}  # order does not matter
    _, val3 = split_conversations(convs, 0.2, seed=2)
    assert {c.id for c in val3} != {c.id for c in val}
    with pytest.raises(ValueError, match="val_fraction"):
        split_conversations(convs, 1.5, seed=1)


def test_prepare_cleans_filters_and_dedups() -> None:
    convs = [
        Conversation("1", ("robots at https://x.com", "cool robots"), "ai"),
        Conversation("2", ("robots at", "cool robots"), "ai"),
        Conversation("3", ("tea?", "yes"), "general"),
    ]
    out = prepare(convs, max_turn_words=10, topics=["ai"])
    assert [c.turns for c in out] == [("robots at", "cool robots")]
