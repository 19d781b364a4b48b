"""Prometheus metrics computed from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import Engine, create_engine, text

import nlu
from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.core.script import DialogueScript, load_script
from agent.ops.metrics import render
from agent.storage.db import make_sessionmaker
from tests.conftest import ROOT


@cache
def _parser() -> nlu.IntentParser:
    """The shipped NLU model, loaded once for both databases."""
    return nlu.load(ROOT / "models" / "nlu")


@cache
def _script() -> DialogueScript:
    intents = nlu.load_intents(ROOT / "data" / "bot" / "intents.yml")
    return load_script(ROOT / "data" / "bot" / "dialogue.yml", intents.intent_names)


SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+]+$')


def _samples(exposition: str) -> dict[str, float]:
    lines = [line for line in exposition.splitlines() if line and not line.startswith("#")]
    for line in lines:
        assert SAMPLE.match(line), line
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines}


def test_turns_tiers_latency_and_loop_health(engine: Engine) -> None:
    bot = Agent(_script(), _parser(), None, make_sessionmaker(engine))
    for user, message in [("ann", "hello"), ("ann", "I love robots"), ("bo", "qwzx blorp")]:
        bot.handle(Incoming(channel="web", user_id=user, text=message))
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO twitter_cursors (account_id, since_id, last_poll_at, updated_at) "
                "VALUES ('42', 7, :polled, :polled)"
            ),
            {"polled": now - timedelta(seconds=90)},
        )
    exposition = render(engine, now=now)
    samples = _samples(exposition)
    turns = {k: v for k, v in samples.items() if k.startswith("threadbot_turns_total")}
    assert sum(turns.values()) == 3
    assert all('channel="web"' in key for key in turns)
    assert samples['threadbot_turn_latency_ms_bucket{le="+Inf"}'] == 3
    assert samples["threadbot_turn_latency_ms_count"] == 3
    buckets = [v for k, v in samples.items() if k.startswith("threadbot_turn_latency_ms_bucket")]
    assert buckets == sorted(buckets)  # cumulative
    assert samples["threadbot_conversations"] == 2
    assert samples['threadbot_twitter_seconds_since_poll{account="42"}'] == 90
    assert samples["threadbot_up"] == 1
    assert "# TYPE threadbot_turns_total counter" in exposition


def test_database_down_still_answers() -> None:
    # Port 9 on loopback: nothing listens, so the failure is immediate and offline.
    engine = create_engine(
        "postgresql+psycopg://x@127.0.0.1:9/x", connect_args={"connect_timeout": 2}
    )
    assert _samples(render(engine)) == {"threadbot_up": 0}
    engine.dispose()


def test_label_values_are_escaped() -> None:
    from agent.ops.metrics import _labels

    assert _labels({"tier": 'a"b\\c\nd'}) == '{tier="a\\"b\\\\c\\nd"}'
