"""The reply guard and Twitter's weighted tweet length."""

from __future__ import annotations

import pytest

from generator import guard
from generator.tweetlen import fit, weighted_length


@pytest.mark.parametrize(
    ("reply", "previous", "reason"),
    [
        ("", None, "empty"),
        ("what the fuck is that", None, "profanity"),
        ("you are a b1tch", None, "profanity"),
        ("he is a n1gger", None, "profanity"),
        ("read https://example.com/x first", None, "url"),
        ("ask @someone about it", None, "handle"),
        ("write to me at ada@example.com", None, "personal_data"),
        ("call me on 555-123-4567", None, "personal_data"),
        ("I think computers are neat!", "i think Computers are neat", "repeat"),
        ("I think computers are neat", None, None),
        ("Scunthorpe has a nice class assignment", None, None),
        ("I like robots a lot", "I like tea a lot", None),
    ],
)
def test_check(reply: str, previous: str | None, reason: str | None) -> None:
    assert guard.check(reply, previous) == reason


def test_word_list_comes_from_the_package() -> None:
    singles, phrases = guard.wordlist()
    assert len(singles) > 500 and ("blow", "job") in phrases
    assert guard.contains_profanity("that was a blow job joke")


def test_repeat_threshold() -> None:
    assert guard.is_repeat("a b c d e", "a b c d e f")  # Jaccard 5/6
    assert not guard.is_repeat("a b c", "a b d e")
    assert not guard.is_repeat("anything", None)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("日本語", 6),  # CJK weighs 2
        ("café", 4),
        ("👋", 2),
        ("👋🏽", 2),  # skin tone modifier joins the emoji
        ("👩‍💻", 2),  # ZWJ sequence is one emoji
        ("🇫🇷", 2),  # a flag pair
        ("see https://example.com/a/very/long/path/that/goes/on", 4 + 23),
        ("a" * 280, 280),
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_fit_cuts_at_word_boundary() -> None:
    assert fit("short", 280) == "short"
    assert fit("one two three four", 9) == "one two"
    assert fit("日本語 日本語", 7) == "日本語"
    assert fit("unbreakable", 3) == ""
