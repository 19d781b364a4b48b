"""The default model in models/nlu: it loads, matches intents.yml, and answers sensibly."""

from __future__ import annotations

import pytest

from nlu import load, load_intents
from nlu.stance_data import load_stance
from nlu.train import combined_hash
from tests.conftest import ROOT

MODEL = ROOT / "models" / "nlu"
INTENTS = ROOT / "data" / "bot" / "intents.yml"
STANCE = ROOT / "data" / "bot" / "stance.yml"


@pytest.fixture(scope="module")
def shipped():
    return load(MODEL)


def test_shipped_model_was_trained_on_the_current_intents(shipped) -> None:
    data = load_intents(INTENTS)
    stance = load_stance(STANCE)
    retrain = (
        "retrain: threadbot nlu train --data data/bot/intents.yml --out models/nlu --wrong-cost 2"
    )
    # The version names the intents and the stance examples together.
    assert shipped.meta["data_hash"] == combined_hash(data.digest(), stance.digest()), retrain
    assert shipped.reads_stance
    assert set(shipped.meta["labels"]) == data.intent_names


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hey ada!", "greet"),
        ("thank you very much", "thanks"),
        ("are you a real human?", "bot_identity"),
        ("please stop messaging me", "stop"),
        ("what's the weather like in london", "out_of_scope"),
    ],
)
def test_shipped_model_answers_held_out_phrasings(shipped, text: str, intent: str) -> None:
    assert shipped.parse(text).intent == intent


def test_shipped_model_fills_the_topic(shipped) -> None:
    parse = shipped.parse("I'm really into NLP these days")
    assert [(e.label, e.value) for e in parse.entities] == [
        ("ai_topic", "natural language processing")
    ]
