"""Which human replies the index may reuse (generator/reuse.py), and the consent a collected
corpus needs, in the library and in `threadbot generator index`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import generator
from generator.reuse import CHITCHAT, DROP_REASONS, ReplySource, ReuseNotAllowedError, drop_reason
from tests.hostile import NASTY

MESSAGE = "what do you think about robots and computers"


@pytest.mark.parametrize(
    ("message", "reply", "reason"),
    [
        (MESSAGE, "robots are great fun to build", None),
        (MESSAGE, "I think robots are great fun", None),  # "I" is no name
        (MESSAGE, "OK robots are fun, I'm sure", None),
        (MESSAGE, "robots? they are great fun", None),  # a word after "?" starts a sentence
        (MESSAGE, "lol", "too_short"),
        (MESSAGE, "me too", "too_short"),
        (MESSAGE, " ".join(["robots"] * 31), "too_long"),
        ("yes", "robots are great fun to build", "context_bound"),
        ("why?", "robots are great fun to build", "context_bound"),
        ("\u200b\u202e\ud800", "robots are great fun to build", "context_bound"),
        (MESSAGE, "robots from Boston are great", "names"),
        (MESSAGE, "my robot runs on 12 volts", "numbers_or_dates"),
        (MESSAGE, "i built one last week actually", "numbers_or_dates"),
        (MESSAGE, "see you on Monday then", "names"),  # capitalised: a name before a date
        (MESSAGE, "see you on monday then", "numbers_or_dates"),
        (MESSAGE, "she says robots are great", "refers_back"),
        (MESSAGE, "ask his brother about it", "refers_back"),
        (MESSAGE, "How about a new prompt: robots?", "about_the_chat"),
        (MESSAGE, "let's end this chat about robots", "about_the_chat"),
        (MESSAGE, "robots are a damn nuisance", "profanity"),
        ("what the fuck are robots", "robots are great fun to build", "profanity"),
        (MESSAGE, "mail me at ada@example.com anytime", "personal_data"),
        ("mail me at ada@example.com robots", "robots are great fun to build", "personal_data"),
    ],
)
def test_drop_reason(message: str, reply: str, reason: str | None) -> None:
    assert drop_reason(message, reply) == reason
    assert reason is None or reason in DROP_REASONS


def test_a_vocabulary_drops_misspelt_and_stretched_words() -> None:
    known = {"robots", "are", "great", "fun", "to", "build", "don't", "dont", "they", "i"}
    assert drop_reason(MESSAGE, "robots are great fun to build", known) is None
    assert drop_reason(MESSAGE, "robots are grate fun to build", known) == "misspelt"
    assert drop_reason(MESSAGE, "robots are greaaaat fun", known) == "misspelt"
    assert drop_reason(MESSAGE, "robots are sooooo fun", None) is None  # no vocabulary, no check
    # Short words, apostrophes and words the vocabulary has without one pass.
    assert drop_reason(MESSAGE, "they don't build ok robots", known) is None
    assert drop_reason(MESSAGE, "'robots' are great fun", known) is None
    # Other reasons are checked first: the report says the reason that matters more.
    assert drop_reason(MESSAGE, "zorblax met Bob", known) == "names"


@pytest.mark.parametrize("text", NASTY)
def test_hostile_text_gets_a_reason_or_none_without_raising(text: str) -> None:
    for message, reply in ((text, text), (MESSAGE, text), (text, "robots are great fun")):
        assert drop_reason(message, reply, {"robots"}) in (None, *DROP_REASONS)


def test_a_capital_after_a_full_stop_starts_a_sentence() -> None:
    assert drop_reason(MESSAGE, "Yes. Robots are great fun!") is None


def test_reuse_needs_consent() -> None:
    CHITCHAT.check()
    assert CHITCHAT.reuse_allowed and "MIT" in CHITCHAT.licence
    refused = ReplySource("my_tweets", "collected from X", reuse_allowed=False)
    with pytest.raises(ReuseNotAllowedError) as err:
        refused.check()
    assert "'my_tweets'" in str(err.value) and "--allow-reuse" in str(err.value)
    ReplySource("my_tweets", "collected from X", reuse_allowed=True).check()


@pytest.mark.parametrize("chitchat", [False, True])
def test_index_command_refuses_a_collected_corpus_without_allow_reuse(
    tmp_path: Path, chitchat: bool
) -> None:
    collected = tmp_path / "my_tweets.jsonl"
    record = {"id": "t1", "topic": "ai", "turns": ["do you like robots", "robots are fun"]}
    collected.write_text(json.dumps(record) + "\n")
    model = tmp_path / "model"
    model.mkdir()
    args = ["index", "--model", str(model), "--collected", str(collected)]
    res = CliRunner().invoke(generator, args if chitchat else [*args, "--no-chitchat"])
    assert res.exit_code != 0
    assert "'my_tweets'" in res.output and "has no consent to reuse" in res.output
    assert "--allow-reuse" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback
    assert list(model.iterdir()) == []  # refused before anything was read or written


def test_index_command_with_nothing_to_index_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(generator, ["index", "--model", str(tmp_path), "--no-chitchat"])
    assert res.exit_code == 2 and "nothing to index" in res.output
