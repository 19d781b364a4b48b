"""NLU retraining: corrections teach the model, the watcher swaps it, bad labels are refused."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

import nlu
from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.mlops.registry.versions import active_version
from agent.mlops.registry.watcher import ModelWatcher, serve_active_versions
from agent.mlops.retrain.nlu_job import retrain_nlu
from agent.storage.db import make_sessionmaker
from tests.agent.mlops.conftest import make_settings
from web.review.annotations import annotate

INTENTS = {
    "greet": ["hi", "hello", "hey there", "good morning", "hiya", "howdy", "hello bot", "hey"],
    "goodbye": ["bye", "goodbye", "see you", "later", "farewell", "bye bye", "see ya", "ciao"],
    "thanks": [
        "thanks",
        "thank you",
        "thx",
        "many thanks",
        "cheers",
        "ty",
        "thanks a lot",
        "thank you so much",
    ],
    "out_of_scope": [
        "what is the weather",
        "order a pizza",
        "book a flight",
        "play music",
        "what time is it",
        "tell me the news",
        "set an alarm",
        "call my mom",
    ],
}
# Phrasings the first model has never seen, and the intents a reviewer gives them.
CORRECTED = {
    "much obliged": "thanks",
    "i owe you one": "thanks",
    "grateful for the help": "thanks",
    "appreciate it": "thanks",
    "obliged to you": "thanks",
    "catch you on the flip side": "goodbye",
    "i am off now": "goodbye",
    "talk to you tomorrow": "goodbye",
    "greetings friend": "greet",
    "yo what is up": "greet",
}
EVAL = [[t, i] for i, texts in INTENTS.items() for t in texts] + [
    ["hello there", "greet"],
    ["good evening", "greet"],
    ["thank you kindly", "thanks"],
    ["goodbye for now", "goodbye"],
    ["find me a hotel", "out_of_scope"],
]


def _write_bot(folder: Path) -> Path:
    folder.mkdir()
    lines = ["version: 1", "intents:"]
    for name, texts in INTENTS.items():
        lines += [f"  - name: {name}", "    examples:", *(f"      - {t}" for t in texts)]
    (folder / "intents.yml").write_text("\n".join(lines) + "\n")
    return folder


def test_corrected_intents_retrain_swap_and_refuse_bad_labels(
    sqlite_engine: Engine, tmp_path: Path, make_agent: Callable[..., Agent]
) -> None:
    started = time.perf_counter()
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text("".join(json.dumps(row) + "\n" for row in EVAL))
    settings = make_settings(
        sqlite_engine,
        tmp_path,
        data_dir=_write_bot(tmp_path / "bot"),
        nlu_model=tmp_path / "no-nlu",
        retrain_nlu_eval=eval_file,
        retrain_review_holdout=0.0,
    )
    sessions = make_sessionmaker(sqlite_engine)
    agent = make_agent(sqlite_engine)
    turns = {t: agent.handle(Incoming("cli", f"u{n}", t)).turn_id for n, t in enumerate(CORRECTED)}
    with sessions.begin() as session:
        for text, turn_id in turns.items():
            assert turn_id is not None
            annotate(
                session,
                turn_id,
                verdict="bad",
                better_reply=None,
                corrected_intent=CORRECTED[text],
                approved=True,
                admin_id=None,
            )

    quiet = {"progress": False, "log": lambda _: None}
    first = retrain_nlu(settings, sessions, **quiet)
    assert first.published is not None and first.published.promoted
    assert first.snapshot.sizes["reviewed_train"] == len(CORRECTED)
    model = nlu.load(first.published.path)
    right = sum(model.parse(t).intent == i for t, i in CORRECTED.items())
    assert right >= 8, "the corrected phrasings are learned"
    assert first.metrics["eval.in_scope_accuracy"] >= 0.9

    # The running agent picks the new parser up on the watcher's next poll.
    assert serve_active_versions(agent, settings) == ["nlu"]
    assert agent.parser.version == model.version
    assert agent.handle(Incoming("cli", "new", "much obliged")).intent == "thanks"
    watcher = ModelWatcher(agent, sessions, interval=60, model_dir=settings.model_dir)
    assert watcher.poll_once() == []  # already serving the active version

    # A careless reviewer relabels greetings as goodbyes: the gate keeps the good model.
    # As many as the real greetings, so the bad labels outweigh them whatever the features.
    wrong = [
        "hello again",
        "hi hi",
        "hey hey",
        "morning",
        "hello friend",
        "hi there bot",
        "hello there friend",
        "good evening all",
        "hey there you",
        "hello hello",
        "good morning to you",
        "hiya bot",
    ]
    wrong_turns = [agent.handle(Incoming("cli", f"w{n}", t)).turn_id for n, t in enumerate(wrong)]
    with sessions.begin() as session:
        for turn_id in wrong_turns:
            assert turn_id is not None
            annotate(
                session,
                turn_id,
                verdict=None,
                better_reply=None,
                corrected_intent="goodbye",
                approved=True,
                admin_id=None,
            )
    second = retrain_nlu(settings, sessions, **quiet)
    assert not second.gate.passed, second.gate.summary()
    assert second.published is not None and not second.published.promoted
    with sessions() as session:
        active = active_version(session, "nlu")
        assert active is not None and active.version == first.published.version
    assert time.perf_counter() - started < 60
