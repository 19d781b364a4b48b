"""Benchmark the mention loop end to end: mentions answered per second against the sandbox.

The sandbox runs in its own process (as it would beside a real deployment's loop), applying
X's duplicate-content rule account-wide, the loop in this one with the shipped NLU model and no
generator (scripted and canned replies), on a fresh SQLite file or PostgreSQL schema. Each run
posts N mentions first, then times the loop from its first poll until every reply is on the
sandbox, and checks that each mention got exactly one and that no reply text repeated.
Usage:

    .venv/bin/python bench/twitter_loop.py                      # SQLite; no faults, then 10 %
    .venv/bin/python bench/twitter_loop.py --db postgres --mentions 2000
    .venv/bin/python bench/twitter_loop.py --phrases greetings  # nearly all hello and thanks
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

import nlu
from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import make_client
from agent.channels.twitter.loop import LoopConfig, MentionLoop
from agent.channels.twitter.models import POSTED, OutboxReply
from agent.channels.twitter.retry import RetryPolicy
from agent.channels.twitter.window import normalise
from agent.core.pipeline import Agent
from agent.core.script import load_script
from agent.settings import load_settings
from agent.storage import migrate
from agent.storage.db import make_engine, make_sessionmaker
from agent.storage.models import Turn
from xsandbox.state import DUPLICATE_RULES

ROOT = Path(__file__).resolve().parent.parent
PHRASES = {
    "mixed": [
        "hello",
        "I love robots",
        "tell me about machine learning",
        "yes",
        "no",
        "what is AI?",
    ],
    # The worst case for X's duplicate rule: everyone says the same few things.
    "greetings": ["hello", "thanks", "hi there", "thank you so much", "hello!", "thanks!"],
}
# About one request in ten fails: 429s, 503s, dropped connections and answers that come too late.
TEN_PERCENT = {
    "rate_limited": 0.02,
    "server_error": 0.04,
    "drop": 0.02,
    "slow": 0.02,
    "slow_seconds": 1.0,
    "duplicate_delivery": 0.1,
}
POSTGRES_URL = os.environ.get(
    "THREADBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql://", "postgresql+psycopg://", 1)


def _serve(port: int, rule: str) -> None:
    """The sandbox process: no rate limits beyond the injected ones."""
    from xsandbox import SandboxServer, SandboxState

    limits = {name: 10**9 for name in ("mentions", "post", "search", "lookup", "me")}
    state = SandboxState(limits=limits, seed=1, duplicate_rule=rule)
    SandboxServer(state, port=port).start()
    time.sleep(10**6)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _engine(db: str) -> tuple[Any, str | None]:
    if db == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return make_engine(f"sqlite:///{path}"), None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(POSTGRES_URL).begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}), schema


def run(
    db: str,
    mentions: int,
    users: int,
    faults: dict[str, float],
    workers: int,
    phrases: list[str] = PHRASES["mixed"],
    rule: str = "account",
) -> float:
    """Mentions per second for one run; asserts every mention got exactly one reply."""
    port = _free_port()
    sandbox = multiprocessing.Process(target=_serve, args=(port, rule), daemon=True)
    sandbox.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/sandbox/world", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    with requests.Session() as http:
        for i in range(mentions):
            text_ = f"@ada {phrases[i % len(phrases)]} #{i}"
            http.post(base + "/sandbox/tweet", json={"username": f"fan{i % users}", "text": text_})
        http.post(base + "/sandbox/faults", json=faults).raise_for_status()
    engine, schema = _engine(db)
    migrate.upgrade(engine)
    script = load_script(
        ROOT / "data/bot/dialogue.yml", nlu.load_intents(ROOT / "data/bot/intents.yml").intent_names
    )
    agent = Agent(script, nlu.load(ROOT / "models/nlu"), None, make_sessionmaker(engine))
    settings = load_settings(twitter_api_base=base, twitter_request_timeout_seconds=0.5)
    api = TwitterApi(make_client(settings))
    account, _ = api.me()
    config = LoopConfig(
        account_id=account,
        retry=RetryPolicy(backoff_base=0.01, backoff_max=0.5, rate_limit_wait=0.5),
        user_replies_per_hour=10**6,
        posts_per_hour=1e12,
        post_burst=10**6,
        reconcile_grace=0.0,
        backfill=True,
        post_workers=workers,
    )
    loop = MentionLoop(agent, engine, api, config)
    started = time.perf_counter()
    while True:
        loop.run_once()
        with Session(engine) as session:
            done = session.scalar(select(func.count()).where(OutboxReply.status == POSTED))
        if done == mentions:
            break
    elapsed = time.perf_counter() - started
    loop.close()  # the advisory lock would keep the next run in this process from polling
    world = requests.get(base + "/sandbox/world", timeout=30).json()
    bot = world["bot"]["id"]
    answered = [
        ref["id"]
        for t in world["tweets"]
        if t["author_id"] == bot
        for ref in t.get("referenced_tweets", [])
    ]
    assert len(answered) == len(set(answered)) == mentions, "exactly one reply per mention"
    said = [normalise(t["text"]) for t in world["tweets"] if t["author_id"] == bot]
    assert rule == "off" or len(said) == len(set(said)), "no reply text twice"
    with Session(engine) as session:
        varied = session.scalar(select(func.count()).where(Turn.variation.is_not(None)))
    sandbox.terminate()
    engine.dispose()
    if schema:
        with create_engine(POSTGRES_URL).begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    injected = {k: v for k, v in world["stats"].items() if k.startswith("injected_")}
    print(f"  {mentions} mentions in {elapsed:.1f} s; faults injected: {injected or 'none'}")
    refused = world["stats"].get("refused_duplicate", 0)
    print(f"  replies varied to avoid a repeat: {varied}; refused by X as duplicate: {refused}")
    return mentions / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="database")
    parser.add_argument("--mentions", type=int, default=1000, help="mentions per run")
    parser.add_argument("--users", type=int, default=100, help="distinct people mentioning")
    parser.add_argument("--post-workers", type=int, default=4, help="posting threads")
    parser.add_argument(
        "--phrases", choices=sorted(PHRASES), default="mixed", help="what people tweet"
    )
    parser.add_argument(
        "--duplicate-rule",
        choices=DUPLICATE_RULES,
        default="account",
        help="the sandbox's duplicate-content rule (X: account)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.db}, "
        f"{args.phrases} phrases, duplicate rule {args.duplicate_rule}"
    )
    for label, faults in (("no faults", {}), ("10 % faults", TEN_PERCENT)):
        rate = run(
            args.db,
            args.mentions,
            args.users,
            faults,
            args.post_workers,
            PHRASES[args.phrases],
            args.duplicate_rule,
        )
        print(f"{label}: {rate:.1f} mentions/s")


if __name__ == "__main__":
    main()
