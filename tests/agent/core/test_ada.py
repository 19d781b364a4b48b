"""Ada, the default bot, through the shipped NLU model and the real agent: what a user reads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import Engine

import nlu
from agent.core.messages import Incoming, Reply
from agent.core.pipeline import Agent
from agent.core.replies import fill
from agent.core.script import DialogueScript
from agent.storage.db import make_sessionmaker
from nlu.followups import KINDS
from tests.agent.conftest import INTENTS

TWEET = 280
HANDLE = 16  # "@" + a 15-character handle + a space, in front of every reply on X


def say(agent: Agent, text: str, user: str = "ana") -> Reply:
    return agent.handle(Incoming(channel="test", user_id=user, text=text))


@pytest.fixture
def ada(sqlite_engine: Engine, make_agent: Callable[..., Agent]) -> Agent:
    return make_agent(sqlite_engine)


@pytest.mark.parametrize(
    ("text", "intent", "words"),
    [
        ("what is machine learning?", "ask_definition", ["machine learning", "examples"]),
        ("What is a neural network?", "ask_definition", ["neural network", "weights"]),
        ("what's deep learning", "ask_definition", ["deep learning", "layers"]),
        ("what is an LLM?", "ask_definition", ["language model", "next word"]),
        ("how do chatbots work?", "ask_definition", ["chatbots", "reply"]),
        ("can you explain reinforcement learning?", "ask_definition", ["trial and error"]),
        ("will AI take all our jobs?", "ask_ai_jobs", ["job", "work"]),
        ("is AI dangerous?", "ask_ai_danger", ["AI"]),
        ("are you sentient?", "ask_sentience", []),
        ("will AI ever be smarter than humans?", "ask_ai_future", []),
        ("why do chatbots make stuff up?", "ask_ai_limits", []),
        ("how do I get started learning machine learning?", "ask_learn_ai", ["Python"]),
        ("what do you think about robots?", "ask_bot_opinion", ["Robotics", "robotics"]),
        # Phrasings the NLU used to classify right but not trust (docs/benchmarks.md):
        ("could robots replace pilots?", "ask_ai_jobs", ["job", "work"]),
        ("will AI replace journalists", "ask_ai_jobs", ["job", "work"]),
        ("is it safe for teenagers to use ai chatbots?", "ask_ai_danger", []),
        ("how would you explain AI to a kid?", "ask_definition", ["AI"]),
        # Privacy and how models learn (2026-11-30), phrasings that are not in the data:
        ("does chatgpt keep a record of my chats?", "ask_ai_privacy", ["privacy", "stored"]),
        ("how are large language models trained?", "ask_ai_training", ["weights"]),
        ("what do AI models learn from?", "ask_ai_training", ["example"]),
    ],
)
def test_common_ai_questions_get_their_scripted_answer(
    ada: Agent, text: str, intent: str, words: list[str]
) -> None:
    reply = say(ada, text)
    assert (reply.intent, reply.tier) == (intent, "scripted"), reply
    assert reply.text and len(reply.text) <= TWEET - HANDLE
    if words:
        assert any(w.casefold() in reply.text.casefold() for w in words), reply.text


def test_a_definition_does_not_reask_the_topic(ada: Agent) -> None:
    say(ada, "hello")  # Ada asks which AI topic the user likes
    reply = say(ada, "what is a neural network?")
    assert reply.tier == "scripted" and reply.state == "chatting"
    assert "neural network" in (reply.text or "").casefold()
    assert "which" not in (reply.text or "").casefold()


def test_a_follow_up_definition_is_answered(ada: Agent) -> None:
    say(ada, "what is machine learning?")
    reply = say(ada, "and deep learning?")
    assert (reply.intent, reply.tier) == ("ask_definition", "scripted"), reply
    assert "layers" in (reply.text or "")


@pytest.mark.parametrize(
    "text", ["what is a diffusion model?", "what are embeddings?", "explain backpropagation"]
)
def test_a_term_without_an_answer_is_not_guessed(ada: Agent, text: str) -> None:
    """Ada says she has no short answer and offers the terms she has, instead of generating."""
    reply = say(ada, text)
    assert (reply.intent, reply.tier) == ("ask_definition", "scripted"), reply
    offered = [
        t
        for t in ("machine learning", "neural network", "llm", "deep learning")
        if t in (reply.text or "").casefold()
    ]
    assert offered, reply.text


@pytest.mark.parametrize("text", ["whats up?", "wassup"])
def test_whats_up_is_a_greeting_not_a_definition(ada: Agent, text: str) -> None:
    assert say(ada, text).intent == "greet"


@pytest.mark.parametrize("text", ["ok good to know", "got it", "makes sense"])
def test_an_acknowledgement_is_not_a_goodbye(ada: Agent, text: str) -> None:
    say(ada, "is AI dangerous?")
    reply = say(ada, text)
    assert reply.intent not in {"goodbye", "thanks"}, reply
    assert reply.tier != "scripted", reply


@pytest.mark.parametrize(
    "text",
    [
        "I'm into knitting",
        "I'm really into rock climbing these days",
        "do you like hiking?",
        "would you go bungee jumping with me?",
        "do you like cats?",
        "what do you think about basketball?",
    ],
)
def test_everyday_chat_goes_past_the_ai_script(ada: Agent, text: str) -> None:
    """A hobby is not an AI topic, and an AI topic named earlier must not answer for it."""
    say(ada, "I love robots")
    say(ada, "yes")  # Ada now chats about robotics
    reply = say(ada, text)
    assert reply.tier != "scripted", reply
    assert "robotics" not in (reply.text or "").casefold()


def test_slot_that_starts_a_sentence_is_capitalised(ada: Agent) -> None:
    replies = [say(ada, "I love robots", user=f"u{i}").text or "" for i in range(12)]
    for text in replies:
        assert "robotics" in text.casefold()
        for sentence_start in (text[:1], *(s[:1] for s in text.split(". ")[1:])):
            assert not sentence_start.islower(), text


def test_fill_capitalises_only_at_sentence_starts() -> None:
    slots = {"topic": "robotics"}
    assert fill("{topic}, great choice!", slots) == "Robotics, great choice!"
    assert fill("Same here. {topic} is fun", slots) == "Same here. Robotics is fun"
    assert fill("Really?! {topic}", slots) == "Really?! Robotics"
    assert fill("I like {topic}. Do you?", slots) == "I like robotics. Do you?"
    assert fill("{topic!r:>12}", slots) == "  'robotics'"


CHATTY = [
    "hi",
    "hello",
    "thanks",
    "thanks",
    "thanks",
    "what can you do?",
    "what can you do?",
    "what is machine learning?",
    "what is machine learning?",
    "what is machine learning?",
    "order me a pizza",
    "order me a pizza",
    "order me a pizza",
    "help",
    "help",
    "restart",
    "restart",
    "bye",
    "bye",
]


def test_no_reply_repeats_the_one_before_in_a_long_conversation(ada: Agent) -> None:
    replies = [say(ada, text).text for text in CHATTY * 3]
    assert all(replies)
    repeats = [(i, a) for i, (a, b) in enumerate(itertools.pairwise(replies)) if a == b]
    assert repeats == []


def test_a_single_variant_is_not_sent_twice_in_a_row(
    script: DialogueScript, parser: nlu.IntentParser, sqlite_engine: Engine
) -> None:
    """With one phrasing left, the turn falls back to a canned line instead of repeating."""
    spec = next(t for t in script.transitions if t.trigger == "capabilities")
    only = spec.replies[0]
    one_line = replace(spec, replies=(only,))
    transitions = tuple(one_line if t is spec else t for t in script.transitions)
    ada = Agent(
        replace(script, transitions=transitions), parser, None, make_sessionmaker(sqlite_engine)
    )
    first, second = say(ada, "what can you do?"), say(ada, "what can you do?")
    assert (first.text, first.tier) == (only, "scripted")
    assert second.tier == "canned" and second.text != only


def test_every_ai_topic_has_an_answer(script: DialogueScript) -> None:
    data = nlu.load_intents(INTENTS)
    canonical = set(data.entities["ai_topic"].synonyms.values()) | set(
        data.entities["ai_topic"].lookup
    )
    answers = script.slots["topic_answer"].values
    assert canonical == set(answers)
    for template in next(t for t in script.transitions if t.trigger == "ask_definition").replies:
        for value in answers:
            text = fill(template, script.with_lookups({"topic": value}))
            assert len(text) <= TWEET - HANDLE, text


def test_every_ai_topic_has_every_follow_up_and_each_fits_a_tweet(script: DialogueScript) -> None:
    follow_ups = script.follow_ups
    assert follow_ups is not None and set(follow_ups.replies) == set(KINDS)
    topics = set(script.slots["topic_answer"].values)
    assert topics <= set(follow_ups.answers)
    for subject, answers in follow_ups.answers.items():
        assert subject in topics or subject in follow_ups.intents
        if subject in topics:
            assert set(answers) == set(KINDS), subject
        for kind, answer in answers.items():
            assert len(follow_ups.replies[kind]) >= 5  # X refuses a text sent twice in a day
            for template in follow_ups.replies[kind]:
                text = fill(template, {"answer": answer})
                assert len(text) <= TWEET - HANDLE, text


def test_reachable_transitions_have_five_variants(script: DialogueScript) -> None:
    """Enough phrasings that no user hears the same line twice and X sees no duplicates."""
    few = [(t.trigger, len(t.replies)) for t in script.transitions if len(set(t.replies)) < 5]
    assert few == []
    assert len(set(script.fallback_replies)) >= 5
