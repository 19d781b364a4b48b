"""Explainable turns: a generated turn stores where its reply came from, made storable on
every database, and loses it when the sent text is not the generator's reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agent.channels.twitter.window import PostedTextWindow
from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.core.provenance import MAX_CHARS, MAX_ITEMS, TOO_DEEP, storable_source
from tests.agent.conftest import RETRIEVED, SOURCED_REPLY, SourcedGenerator, pending_reply
from tests.agent.core.test_pipeline import RefusingGenerator, say, turns
from tests.hostile import FUZZ, HOSTILE


def nested(levels: int) -> dict[str, Any]:
    """``{"d": {"d": ...}}`` ``levels`` deep, built without recursion."""
    node: dict[str, Any] = {}
    for _ in range(levels):
        node = {"d": node}
    return node


# What a careless or hostile generator could hand over, and what the turn keeps of it.
HOSTILE_SOURCE = {
    "kind": "retrieved",
    "corpus": "chit\u202echat\u200b",  # bidi and zero-width: kept, the console shows them
    "pair": "\ud800 12\x00345",  # lone surrogate and NUL: no database stores them
    "score": float("nan"),  # JSON has no NaN; PostgreSQL refuses it
    "features": {"\u2066lstm\u2069": float("inf"), "spec\udfff": np.float32(-0.25), 7: np.int64(3)},
    "deep": nested(100_000),  # json's encoder would recurse past Python's limit
    "many": list(range(10_000)),
    "long": "x" * 10_000,
}
STORED = {
    "kind": "retrieved",
    "corpus": "chit\u202echat\u200b",
    "pair": "\ufffd 12\ufffd345",
    "score": None,
    "features": {"\u2066lstm\u2069": None, "spec\ufffd": -0.25, "7": 3},
    "deep": {"d": {"d": {"d": TOO_DEEP}}},
    "many": list(range(MAX_ITEMS)),
    "long": "x" * MAX_CHARS,
}


def test_a_generated_turn_keeps_its_source_and_other_tiers_none(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(engine, generator=SourcedGenerator())
    scripted = say(agent, "hello")
    generated = say(agent, "order me a pizza")
    refused = say(make_agent(engine, generator=RefusingGenerator()), "order me a pizza", "bob")
    assert (scripted.tier, scripted.source) == ("scripted", None)
    assert (generated.tier, generated.text) == ("generated", SOURCED_REPLY)
    assert generated.source == RETRIEVED
    assert (refused.tier, refused.source) == ("canned", None)
    assert [t.reply_source for t in turns(engine)] == [None, RETRIEVED, None]


def test_a_hostile_source_is_stored_safely_and_the_turn_still_saved(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    reply = say(make_agent(engine, generator=SourcedGenerator(HOSTILE_SOURCE)), "order me a pizza")
    assert reply.tier == "generated"
    assert reply.source == STORED
    assert turns(engine)[-1].reply_source == STORED  # read back in a new session


def test_the_source_stays_only_while_the_generated_text_is_sent(
    engine: Engine, make_agent: Callable[..., Agent]
) -> None:
    """X's duplicate rule: a reply whose text was used lately is swapped for the next option."""
    agent = make_agent(engine, generator=SourcedGenerator())
    window = PostedTextWindow("bot", hours=24)
    kept = agent.handle(Incoming("twitter", "ada", "order me a pizza"), window=window)
    assert kept is not None and (kept.text, kept.source) == (SOURCED_REPLY, RETRIEVED)
    with Session(engine) as session, session.begin():
        pending_reply(session, SOURCED_REPLY)
    varied = agent.handle(Incoming("twitter", "bob", "order me a pizza"), window=window)
    assert varied is not None and varied.text != SOURCED_REPLY
    assert (varied.tier, varied.source) == ("generated", None)
    last = turns(engine)[-1]
    assert last.reply_source is None and last.variation is not None


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE, inner, max_size=3),
)


@FUZZ
@given(source=st.dictionaries(HOSTILE, JSONISH, max_size=4))
def test_any_source_becomes_strict_utf8_json(source: dict[str, Any]) -> None:
    stored = storable_source(source)
    assert stored is not None
    json.dumps(stored, allow_nan=False, ensure_ascii=False).encode("utf-8")
    assert storable_source(stored) == stored  # already storable: unchanged
