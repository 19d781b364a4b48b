"""Entities the statistical model finds fill dialogue slots exactly as rule entities do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import nlu
from agent.core.messages import Incoming
from agent.core.pipeline import Agent
from agent.core.script import load_script
from agent.storage.db import make_sessionmaker
from agent.storage.models import Turn
from nlu.entity_filter import FILTER
from nlu.train import TrainOptions, save, train

INTENTS = """\
version: 1
intents:
  - name: greet
    examples: [hi, hello, hey there, good morning, hello bot, hiya, howdy]
  - name: share_hobby
    examples:
      - I'm into [knitting](hobby)
      - I really enjoy [rock climbing](hobby)
      - my hobby is [chess](hobby)
      - I love [bird watching](hobby) on weekends
      - lately I'm into [pottery](hobby)
      - I spend my evenings [baking bread](hobby)
      - I enjoy [sailing](hobby) a lot
      - my favourite hobby is [gardening](hobby)
      - I'm into [ML](hobby)
      - I've been doing [origami](hobby) for years
      - I love [trail running](hobby)
      - my hobby is [stamp collecting](hobby)
      - I enjoy [woodworking](hobby)
      - I'm really into [jazz piano](hobby)
      - I'm into [street photography](hobby)
      - lately I'm into [ice skating](hobby)
      - I'm into [model trains](hobby) these days
      - my hobby is [wild swimming](hobby)
      - I really enjoy [board games](hobby)
      - I'm into [amateur astronomy](hobby)
      - these days I'm into [urban sketching](hobby)
      - I enjoy [mountain biking](hobby) with friends
      - I'm into [home brewing](hobby)
      - I love [creative writing](hobby)
  - name: stop
    examples: [stop, stop messaging me, leave me alone, unsubscribe, go away]
  - name: start
    examples: [start, start again, subscribe, come back, resume]
  - name: out_of_scope
    examples:
      - what's the weather tomorrow
      - order me a pizza
      - book a flight to paris
      - how tall is mount everest
      - set an alarm for 7am
entities:
  hobby:
    open: true
    synonyms:
      machine learning: [ML, machine-learning]
"""

DIALOGUE = """\
name: Hobbyist
initial: idle
slots:
  hobby:
    entity: hobby
states:
  idle:
    replies: ["Hi! What do you do for fun?"]
  chatting:
    replies: ["Tell me more about {hobby}."]
transitions:
  - trigger: greet
    source: "*"
    dest: idle
    replies: ["Hi! What do you do for fun?"]
  - trigger: share_hobby
    source: "*"
    dest: chatting
    conditions: has_hobby
    replies: ["{hobby}? Nice! How long have you been at it?"]
  - trigger: share_hobby
    source: "*"
    dest: idle
    unless: has_hobby
    replies: ["Which hobby?"]
global_intents:
  stop:
    opt_out: true
    replies: ["Okay, I'll be quiet."]
  start:
    opt_in: true
    replies: ["Welcome back!"]
fallback:
  replies: ["Tell me about your hobbies.", "What do you do for fun?"]
"""


@pytest.fixture(scope="module")
def hobby_bot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A script and a model trained on data with an open entity (seeded: the same every run)."""
    folder = tmp_path_factory.mktemp("hobby")
    (folder / "intents.yml").write_text(INTENTS, encoding="utf-8")
    (folder / "dialogue.yml").write_text(DIALOGUE, encoding="utf-8")
    data = nlu.load_intents(folder / "intents.yml")
    save(train(data, options=TrainOptions(seed=0, progress=False)), folder / "nlu")
    return folder / "dialogue.yml", folder / "nlu"


@pytest.mark.slow
def test_model_and_rule_entities_fill_the_slot(sqlite_engine: Engine, hobby_bot) -> None:
    dialogue, model_dir = hobby_bot
    parser = nlu.load(model_dir)
    script = load_script(dialogue, set(parser.meta["labels"]))
    agent = Agent(script, parser, None, make_sessionmaker(sqlite_engine))

    # An unseen value in a known context: only the learned model can find it.
    reply = agent.handle(Incoming(channel="test", user_id="ann", text="I'm into protein folding"))
    assert (reply.intent, reply.state) == ("share_hobby", "chatting")
    assert reply.text == "Protein folding? Nice! How long have you been at it?"
    # A listed synonym: the rules find it and give the canonical value.
    reply = agent.handle(Incoming(channel="test", user_id="bob", text="I'm into ML these days"))
    assert reply.text == "Machine learning? Nice! How long have you been at it?"

    with Session(sqlite_engine) as session:
        first, second = session.scalars(select(Turn).order_by(Turn.id)).all()
    assert first.slots == {"hobby": "protein folding"}
    assert [(e["text"], e["source"]) for e in first.entities] == [("protein folding", "model")]
    assert second.slots == {"hobby": "machine learning"}
    assert [(e["text"], e["value"], e["source"]) for e in second.entities] == [
        ("ML", "machine learning", "rule")
    ]


@pytest.mark.slow
def test_saved_model_filters_learned_labels_by_intent(hobby_bot) -> None:
    _, model_dir = hobby_bot
    parser = nlu.load(model_dir)
    # Last, after the intents it reads; its table comes back from disk.
    assert parser.nlp.pipe_names[-1] == FILTER
    assert parser.nlp.get_pipe(FILTER).labels_by_intent["share_hobby"] == {"hobby"}
    assert parser.nlp.get_pipe(FILTER).labels_by_intent["greet"] == set()
