"""Dialogue acts, sentiment and key phrases (nlu/acts.py) on a table of chat messages."""

from __future__ import annotations

import time

import pytest
from hypothesis import given

from nlu.acts import ACTS, SENTIMENTS, Act, analyse, turn_round
from nlu.lexicon import SECOND_PERSON
from tests.hostile import FUZZ, HOSTILE


@pytest.mark.parametrize(
    ("message", "act", "phrase"),
    [
        ("my dog just stole my sandwich", "bad_news", "your sandwich"),
        ("I just finished a marathon", "good_news", "your marathon"),
        ("my dad got a new job", "good_news", "your dad's new job"),
        ("my parents bought a house", "good_news", "your parents' house"),
        ("I passed my driving test!", "good_news", "your driving test"),
        ("I had pizza for dinner", "news", "pizza"),
        ("I went to the store today", "news", "the store"),
        ("I hate mondays", "complaint", "mondays"),
        ("I have to give a speech", "plan", "the speech"),
        ("I start a new job on monday", "plan", "the new job"),
        ("I went to the gym on monday", "news", "the gym"),
        ("I have to say, that was great", "good_news", None),  # an idiom, no plan
        ("mondays are the worst", "complaint", "mondays"),
        ("I'm so tired", "complaint", None),
        ("My grandma died last night", "bad_news", "your grandma"),
        ("my car broke down", "bad_news", "your car"),
        ("I got fired", "bad_news", None),
        ("I'm planning a trip to Japan", "plan", "your trip to Japan"),
        ("I'm going to learn Python this weekend", "plan", "Python"),
        ("gonna watch a movie tonight", "plan", "the movie"),
        ("do you like pizza?", "question_about_bot", "pizza"),
        ("what's your favourite movie?", "question_about_bot", "favourite movie"),
        ("do you have a dog", "question_about_bot", "dog"),
        ("how are you", "question_about_bot", None),
        # a place that is nowhere in particular is no phrase ("No anywhere for me")
        ("what would you do if you could go anywhere?", "question_about_bot", None),
        # a verb ending in -s before its object, not a plural ("Weather affects?")
        ("do you think the weather affects your mood?", "question_about_bot", "weather"),
        ("he works hard on his robots", "other", "his robots"),
        ("can you help me with my homework?", "question", "your homework"),
        ("what is the capital of France?", "question", "the capital of France"),
        ("what do you think of pizza", "question", "pizza"),
        ("I think AI is overrated", "opinion", "AI"),
        ("pizza is the best food", "opinion", "pizza"),
        ("this movie was great", "opinion", "that movie"),
        ("I saw a great movie last night", "good_news", "the great movie"),
        ("I ATE A WHOLE PIZZA", "news", "the whole pizza"),
        # A sentence adverb is no part of the phrase ("Apparently target, huh?").
        ("I looked it up apparently target is selling them", "news", "target"),
        ("Luckily my sister found the keys", "news", "the keys"),
        ("lol", "other", None),
        ("hello there", "other", None),
        # The most important sentence wins: news over a question.
        ("I got a new job! Do you have a job?", "good_news", "your new job"),
        ("Hi!? I love pizza", "opinion", "pizza"),
    ],
)
def test_act_and_phrase(message: str, act: str, phrase: str | None) -> None:
    found = analyse(message)
    assert (found.act, found.phrase) == (act, phrase)


@pytest.mark.parametrize(
    ("message", "sentiment"),
    [
        ("I love this", "positive"),
        ("this is not bad at all", "positive"),
        ("I lost my keys 😭", "negative"),
        ("the bus comes at nine", "neutral"),
        ("", "neutral"),
    ],
)
def test_sentiment(message: str, sentiment: str) -> None:
    assert analyse(message).sentiment == sentiment


@pytest.mark.parametrize(
    ("text", "turned"),
    [
        ("my dog", "your dog"),
        ("My dog and our cat", "Your dog and your cat"),
        ("I am proud of myself", "You are proud of yourself"),
        ("so I am proud of us", "so you are proud of you"),
        ("a friend of mine and me", "a friend of yours and you"),
        ("i'm sure we're fine", "you're sure you're fine"),
        ("mummy is my aim", "mummy is your aim"),  # whole words only
    ],
)
def test_turn_round(text: str, turned: str) -> None:
    assert turn_round(text) == turned


@pytest.mark.parametrize(
    "message",
    [
        "my dog just \ud800stole my sandwich",  # a lone surrogate
        "my dog just stole my \u202esandwich\u202c",  # bidi override
        "my\u200b dog just stole my sand\u200bwich\ufeff",  # zero-width characters
        "my dog just stole my sandwich @someone https://evil.example #fail",
    ],
)
def test_hostile_characters_do_not_change_the_reading(message: str) -> None:
    assert analyse(message) == Act("bad_news", "negative", "your sandwich")


@FUZZ
@given(HOSTILE)
def test_any_text_reads_without_error(text: str) -> None:
    found = analyse(text)
    assert found.act in ACTS and found.sentiment in SENTIMENTS
    if found.phrase is not None:
        assert found.phrase.strip() and SECOND_PERSON.isdisjoint(found.phrase.lower().split())
        assert not any(0xD800 <= ord(c) <= 0xDFFF or c in "\u202e\u200b" for c in found.phrase)


def test_fast_enough_for_every_turn() -> None:
    messages = ["my dog just stole my sandwich", "what's your favourite movie?", "x" * 10_000]
    started = time.perf_counter()
    for _ in range(100):
        for message in messages:
            analyse(message)
    assert (time.perf_counter() - started) / 300 < 0.0005
