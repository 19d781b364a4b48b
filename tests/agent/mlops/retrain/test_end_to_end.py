"""Issue 7's loop end to end: logs, review, retrain, gate, promote, hot swap, rollback."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import generator
from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.mlops.registry.versions import (
    active_version,
    list_versions,
    promote,
    require_version,
    rollback,
)
from agent.mlops.registry.watcher import start_model_watcher
from agent.mlops.retrain.forget import find_users, forget
from agent.mlops.retrain.generator_job import retrain_generator
from agent.mlops.retrain.scoring import generator_nll
from agent.storage.db import make_sessionmaker
from agent.storage.models import Turn, User
from generator.data import Conversation
from tests.agent.mlops.conftest import TOPIC, make_settings, tiny_config
from web.review.annotations import annotate

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

# Prompts the shipped NLU calls out of scope, so the generator answers them, with the replies
# a reviewer wrote instead: one style, as one reviewer's corrections have, and words the tiny
# model's tokenizer knows (fine-tuning keeps the active model's tokenizer).
CORRECTIONS = {
    "who invented the transistor": "i am not sure but tell me about robots",
    "can a toaster dream": "that is interesting but tell me about robots",
    "what is the capital of peru": "i do not know but tell me about drones",
    "how tall is mount everest": "really tall but tell me about computers",
    "what should i cook tonight": "i can not cook but tell me about chatbots",
    "who won the football match": "i am not sure but tell me about drones",
    "is it going to rain": "i do not know but tell me about computers",
    "what time is it in tokyo": "i am not sure but tell me about chatbots",
    "do you know any jokes": "not really but tell me about robots",
    "where is my package": "i do not know but tell me about search engines",
}


def _say(agent: Agent, user: str, text: str, handle: str | None = None) -> int:
    reply = agent.handle(Incoming(channel="twitter", user_id=user, text=text, handle=handle))
    assert reply.turn_id is not None
    return reply.turn_id


def _snapshot_text(folder: Path) -> str:
    return "".join(gzip.open(p, "rt").read() for p in sorted(folder.glob("*.jsonl.gz")))


def test_reviewed_corrections_retrain_promote_swap_and_roll_back(
    sqlite_engine: Engine, tmp_path: Path, corpus: Path, make_agent: Callable[..., Agent]
) -> None:
    started = time.perf_counter()
    settings = make_settings(
        sqlite_engine, tmp_path, retrain_generator_margin=0.05, retrain_replay_conversations=40
    )
    sessions = make_sessionmaker(sqlite_engine)

    # v1: the bot's first generator, trained from the base corpus alone and promoted.
    first = retrain_generator(
        settings,
        sessions,
        default_topic=TOPIC,
        config=tiny_config(corpus, epochs=3),
        from_scratch=True,
        progress=False,
        log=lambda _: None,
    )
    assert first.published is not None and first.published.promoted
    assert first.gate.checks == ("no active model to compare with",)
    v1 = first.published.path

    # A running agent on v1, with the watcher polling the registry every 50 ms. Plain beam
    # search: the corrections share one context-free ending ("... but tell me about robots"),
    # which MMI re-ranking demotes by design; the watcher keeps these options for v2.
    agent = make_agent(sqlite_engine, generator=generator.load(v1, rerank=False))
    watcher = start_model_watcher(agent, sessions, 0.05, settings.model_dir)
    try:
        # Conversations: each prompt from its own user, plus personal data and opted-out users.
        turns = {p: _say(agent, f"u{n}", p) for n, p in enumerate(CORRECTIONS)}
        email = _say(agent, "bob", "email me at bob@example.com about robots", "bobby99")
        handle = _say(agent, "bob", "bobby99 says hi, who invented the transistor", "bobby99")
        gone = _say(agent, "mallory", "my secret codeword is zebrafish", "mallory")
        quiet = _say(agent, "olive", "my favourite word is quokka", "olive")
        with sessions.begin() as session:
            for prompt, turn_id in turns.items():
                annotate(
                    session,
                    turn_id,
                    verdict="bad",
                    better_reply=CORRECTIONS[prompt],
                    corrected_intent=None,
                    approved=True,
                    admin_id=None,
                )
            for turn_id in (email, handle, gone, quiet):
                annotate(
                    session,
                    turn_id,
                    verdict="good",
                    better_reply="fine reply",
                    corrected_intent=None,
                    approved=True,
                    admin_id=None,
                )
            forget(session, find_users(session, "@Mallory"))
            session.scalars(select(User).where(User.external_id == "olive")).one().opted_out = True

        # The corrected prompt we follow: one the snapshot trains on (others are held out).
        before = {p: _nll(v1, p) for p in CORRECTIONS}
        second = retrain_generator(
            settings,
            sessions,
            default_topic=TOPIC,
            config=tiny_config(corpus, epochs=10, batch_size=4, lr=1e-2, patience=3),
            progress=False,
            log=print,
        )
        snap = second.snapshot
        assert second.init_from == str(v1)
        assert snap.reviewed_heldout, "some reviewed pairs must be held out for the gate"
        trained = [p for p, t in turns.items() if t in snap.reviewed_train]
        assert trained and email in snap.reviewed_train + snap.reviewed_heldout

        # The snapshot holds neither personal data nor opted-out or forgotten users.
        text = _snapshot_text(snap.path)
        for leak in ("bob@example.com", "bobby99", "zebrafish", "quokka", "@"):
            assert leak not in text
        assert gone not in snap.reviewed_train + snap.reviewed_heldout

        # Registered, gated on both held-out sets, promoted.
        assert second.gate.passed, second.gate.summary()
        assert second.published is not None and second.published.promoted
        v2 = second.published.path
        with sessions() as session:
            row = active_version(session, "generator")
            assert row is not None and row.version == "generator-0002"
            assert row.parent_id is not None and row.data_hash == snap.data_hash
            assert (
                row.metrics["heldout_reviewed"] < row.metrics["active_before"]["heldout_reviewed"]
            )
            served = row.served_as

        # The watcher swaps the running agent to v2 without a restart.
        _wait_for(lambda: agent.generator is not None and agent.generator.version == served)
        prompt = trained[0]
        reply = agent.handle(Incoming(channel="twitter", user_id="new", text=prompt))
        with sessions() as session:
            turn = session.get(Turn, reply.turn_id)
            assert turn is not None and turn.generator_version == served
        # v2 finds the corrected reply far more likely than v1 did, and says something closer.
        for p in trained:
            assert _nll(v2, p) < 0.5 * before[p]
        assert reply.tier == "generated"
        with sessions() as session:
            said_before = session.get(Turn, turns[prompt])
            assert said_before is not None and said_before.generator_version != served
        target = CORRECTIONS[prompt]
        assert _overlap(reply.text, target) > _overlap(said_before.reply_text, target)

        # Turns keep flowing while versions flip: none fails, each is served by v1 or v2.
        v1_served = generator.load(v1).version
        errors: list[BaseException] = []

        def chat() -> None:
            try:
                for n in range(12):
                    agent.handle(Incoming(channel="twitter", user_id=f"busy{n % 3}", text=prompt))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        talker = threading.Thread(target=chat)
        talker.start()
        for _ in range(2):
            with sessions.begin() as session:
                rollback(session, "generator", "test")
            _wait_for(lambda: agent.generator is not None and agent.generator.version == v1_served)
            with sessions.begin() as session:
                promote(session, require_version(session, "generator", "generator-0002"), "test")
            _wait_for(lambda: agent.generator is not None and agent.generator.version == served)
        talker.join()
        assert not errors
        with sessions() as session:
            later = select(Turn.generator_version).where(Turn.id > reply.turn_id)
            assert set(session.scalars(later)) <= {served, v1_served}

        # Rollback: v1 serves again, through the same watcher.
        with sessions.begin() as session:
            assert rollback(session, "generator", "test").version == "generator-0001"
        _wait_for(lambda: agent.generator is not None and agent.generator.version == v1_served)
        with sessions() as session:
            assert [v.active for v in list_versions(session, "generator")] == [True, False]
    finally:
        watcher.stop()
    assert time.perf_counter() - started < 60, "the whole loop must run in under a minute"


def _nll(model: Path, prompt: str) -> float:
    nll = generator_nll(model, [Conversation("x", (prompt, CORRECTIONS[prompt]), TOPIC)])
    assert nll is not None
    return nll.total


def _overlap(text: str | None, target: str) -> float:
    """Share of the target's words the reply contains."""
    words = set(target.split())
    return len(words & set((text or "").split())) / len(words)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the watcher did not swap in time"
        time.sleep(0.02)
