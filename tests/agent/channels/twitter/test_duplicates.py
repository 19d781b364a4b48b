"""X's duplicate-content rule: the loop never loses a reply to it (the sandbox applies it, as
tests/xsandbox/test_state.py checks), and each person's replies go out in the order of their
mentions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import nlu
from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import make_client
from agent.channels.twitter.loop import MentionLoop
from agent.channels.twitter.models import POSTED, OutboxReply
from agent.channels.twitter.window import normalise
from agent.core.pipeline import Agent
from agent.core.script import load_script
from agent.storage.db import make_sessionmaker
from agent.storage.models import Turn
from tests.agent.channels.twitter.helpers import (
    answer_polled,
    fast_config,
    replies_by_mention,
    settings_for,
)
from tests.agent.conftest import INTENTS, RETRIEVED, SOURCED_REPLY, SourcedGenerator
from tests.agent.core.test_script import VALID
from xsandbox import SandboxServer, SandboxState

LoopFactory = Callable[..., MentionLoop]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hello there", "  hello   THERE "),
        ("@amy @bob Hello there", "Hello there"),
        ("Cafe\u0301 time", "Café time"),  # NFD and NFC
        ("Stra\u00dfe", "STRASSE"),  # case folding, not just lower()
        ("Hi\u200b there\u202e", "hi there"),
    ],
)
def test_normalise_makes_these_the_same_text(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_normalise_keeps_different_texts_apart() -> None:
    assert normalise("Hello @amy") != normalise("Hello")  # only leading handles go
    assert normalise("Hi!") != normalise("Hi?")
    assert normalise("\ud800") == "\ud800"  # a lone surrogate does not crash it


def _bot_texts(world: SandboxState) -> list[str]:
    return [normalise(t["text"]) for t in world.bot_replies()]


def test_many_people_greeted_at_once_get_distinct_replies_and_no_403(
    engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    for i in range(12):
        world.tweet(f"fan{i}", "@ada hello")
    loop = make_loop(engine)
    loop.run_once()
    assert len(replies_by_mention(world)) == 12
    texts = _bot_texts(world)
    assert len(set(texts)) == len(texts) == 12
    assert "refused_duplicate" not in world.stats  # the window caught every clash first
    with Session(engine) as session:
        turns = session.scalars(select(Turn).order_by(Turn.id)).all()
    varied = [t for t in turns if t.variation]
    assert varied, "twelve greetings cannot all be the first choice"
    assert all("was posted lately" in (t.variation or "") for t in varied)
    assert all(
        t.reply_text
        == t.reply_options[[o["text"] for o in t.reply_options].index(t.reply_text)]["text"]
        for t in turns
    )


def test_a_duplicate_403_switches_to_the_next_option_as_a_new_attempt(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    """Texts the account posted outside threadbot (so the window cannot know them)."""
    world = sandbox.state
    mention = world.tweet("ivy", "@ada hello")
    loop = make_loop(sqlite_engine)
    loop.poll()
    (job,) = answer_polled(loop).values()
    with Session(sqlite_engine) as session:
        options = [o["text"] for o in session.scalars(select(Turn)).one().reply_options]
    assert len(options) >= 3
    for text in options[:2]:  # the bot's first two options are already on its timeline
        world.post(world.bot_id, text, None)
    assert loop.poster.post(job.id, job) == POSTED
    (reply,) = replies_by_mention(world)[mention["id"]]
    assert world.tweets[int(reply)]["text"] == options[2]
    assert world.stats["refused_duplicate"] == 2
    with Session(sqlite_engine) as session:
        row = session.scalars(select(OutboxReply)).one()
        turn = session.scalars(select(Turn)).one()
    assert (row.status, row.text, row.posted_tweet_id) == (POSTED, options[2], reply)
    assert row.attempts == 3  # each switch is a new attempt, counted before its post
    assert row.error is not None and "switched to option 3" in row.error
    assert turn.reply_text == options[0]  # the turn is as the agent logged it
    assert row.error.count("as duplicate") == 2


def test_a_duplicate_403_on_a_generated_reply_leaves_its_turn_and_source(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    """The turn keeps the generator's text and where it came from; the outbox row holds the
    option sent instead."""
    world = sandbox.state
    world.tweet("kim", "@ada order me a pizza")
    loop = make_loop(sqlite_engine, generator=SourcedGenerator())
    loop.poll()
    (job,) = answer_polled(loop).values()
    with Session(sqlite_engine) as session:
        assert session.scalars(select(Turn)).one().reply_source == RETRIEVED
    world.post(world.bot_id, SOURCED_REPLY, None)  # outside threadbot: the window cannot know
    assert loop.poster.post(job.id, job) == POSTED
    with Session(sqlite_engine) as session:
        turn = session.scalars(select(Turn)).one()
        row = session.scalars(select(OutboxReply)).one()
    assert row.text != SOURCED_REPLY
    assert (turn.tier, turn.reply_text, turn.reply_source) == (
        "generated",
        SOURCED_REPLY,
        RETRIEVED,
    )


def test_a_duplicate_403_after_a_lost_answer_is_our_own_reply(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    """The reply landed, its answer was lost, and search lags: the repost's 403 says so."""
    world = sandbox.state
    world.search_lag_seconds = 2.0
    mention = world.tweet("jack", "@ada hello")
    loop = make_loop(sqlite_engine, reconcile_grace=1.2)
    loop.poll()
    (job,) = answer_polled(loop).values()
    world.post(world.bot_id, job.text, int(mention["id"]))  # the attempt whose answer was lost
    assert loop.poster.post(job.id, replace(job, unsure=True)) == POSTED
    (reply,) = replies_by_mention(world)[mention["id"]]
    assert world.stats["refused_duplicate"] == 1
    with Session(sqlite_engine) as session:
        row = session.scalars(select(OutboxReply)).one()
    assert (row.posted_tweet_id, row.text) == (reply, job.text)  # recorded, nothing switched


def test_each_persons_replies_are_posted_in_mention_order(
    sqlite_engine: Engine, sandbox: SandboxServer, make_loop: LoopFactory
) -> None:
    world = sandbox.state
    phrases = ["hello", "I love robots", "thanks", "yes", "what is AI?", "thank you"]
    order = {
        f"p{u}": [world.tweet(f"p{u}", f"@ada {phrases[n]}")["id"] for n in range(6)]
        for u in range(4)
    }
    # Failing posts are retried after a backoff: without per-person order a later reply
    # to the same person would overtake the one waiting.
    world.faults.update({"server_error": 0.3})
    make_loop(sqlite_engine, post_workers=4).run_once()
    answered = {m: ids[0] for m, ids in replies_by_mention(world).items()}
    for mentions in order.values():
        posted = [int(answered[m]) for m in mentions]
        assert posted == sorted(posted)
    assert world.stats["injected_server_error"] >= 3


# The small script of the script tests, its greeting given a plain and a personal phrasing.
PERSONAL = VALID.replace(
    "    dest: asked\n", '    dest: asked\n    replies: ["Hello!", "Hi {name}!"]\n', 1
)


def test_people_are_greeted_by_their_sanitised_names_and_the_plain_line_only_once(
    sqlite_engine: Engine, sandbox: SandboxServer, tmp_path: Path, parser: nlu.IntentParser
) -> None:
    world = sandbox.state
    (tmp_path / "dialogue.yml").write_text(PERSONAL, encoding="utf-8")
    script = load_script(tmp_path / "dialogue.yml", nlu.load_intents(INTENTS).intent_names)
    agent = Agent(script, parser, None, make_sessionmaker(sqlite_engine))
    api = TwitterApi(make_client(settings_for(sandbox)))
    loop = MentionLoop(agent, sqlite_engine, api, fast_config(world.bot_id))
    for handle in ("amy", "bob", "cy"):
        world.tweet(handle, "@ada hello")
    # A display name with bidi and zero-width characters: they never reach the reply.
    world.user("cy")["name"] = "\u202eCy\u200b \u2066Ng\u2069"
    loop.run_once()
    replies = {
        world.users[t["in_reply_to_user_id"]]["username"]: t["text"] for t in world.bot_replies()
    }
    names = {"amy": "Amy", "bob": "Bob", "cy": "Cy Ng"}
    assert all(replies[u] in ("Hello!", f"Hi {name}!") for u, name in names.items()), replies
    assert list(replies.values()).count("Hello!") <= 1  # the plain line only once a day
    with Session(sqlite_engine) as session:
        varied = session.scalars(select(Turn).where(Turn.variation.is_not(None))).all()
    assert all("(personalised)" in (t.variation or "") for t in varied)
