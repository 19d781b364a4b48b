"""A trained pipeline: held-out phrasings, entities, thresholds, save/load, thread safety."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import spacy

from nlu import IntentParser, ModelNotFoundError, NLUError, load
from nlu.model import NLUModel
from nlu.train import TrainOptions, build_pipeline, split, train


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello there friend", "greet"),
        ("hey!! good morning @ada_bot", "greet"),
        ("ok bye, see you", "goodbye"),
        ("I'm really interested in robotics", "share_interest"),
        ("can you order a pizza for me", "out_of_scope"),
    ],
)
def test_held_out_phrasings_get_the_expected_intent(
    model: NLUModel, text: str, intent: str
) -> None:
    assert model.parse(text).intent == intent


def test_parse_is_ranked_and_calibrated(model: NLUModel) -> None:
    parse = model.parse("hello")
    confidences = [s.confidence for s in parse.intents]
    assert confidences == sorted(confidences, reverse=True)
    assert 0.0 < sum(confidences) <= 1.0 + 1e-6
    assert parse.trusted
    parser: IntentParser = model  # the agent's view of it: a version and parse()
    assert parser.version.startswith("threadbot_nlu-")


def test_entities_use_canonical_values(model: NLUModel) -> None:
    parse = model.parse("I work on ML and Robots, also gpt4 and deep learning")
    found = [(e.label, e.text, e.value) for e in parse.entities]
    assert found == [
        ("ai_topic", "ML", "machine learning"),
        ("ai_topic", "Robots", "robotics"),
        ("ai_topic", "gpt4", "gpt4"),
        ("ai_topic", "deep learning", "deep learning"),
    ]
    first = parse.entities[0]
    assert parse.text[first.start : first.end] == "ML"


def test_save_load_round_trip_keeps_parses_and_metadata(model_dir: Path, model: NLUModel) -> None:
    again = load(model_dir)
    texts = ["hi", "talk about robots", "play music", "gpt-4 please"]
    assert [again.parse(t) for t in texts] == [model.parse(t) for t in texts]
    meta = json.loads((model_dir / "metrics.json").read_text())
    assert meta["labels"] == ["goodbye", "greet", "out_of_scope", "share_interest"]
    assert meta["out_of_scope"] == "out_of_scope"
    assert model.version == f"threadbot_nlu-{meta['data_hash']}"
    assert 0.0 <= meta["gate"]["threshold"] <= 1.0
    assert meta["spacy_version"] == spacy.__version__


def test_thresholds_are_stored_in_the_pipeline_config(model_dir: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict"
    shutil.copytree(model_dir, strict)
    config = (strict / "config.cfg").read_text()
    assert "[components.intent_gate]" in config
    # Raise the stored threshold and margin: the same model must now refuse to trust anything
    # (a threshold alone is met by a training example the model scores at 1.0).
    lines = [
        (f"{ln.split()[0]} = 1.0" if ln.startswith(("threshold =", "margin =")) else ln)
        for ln in config.splitlines()
    ]
    (strict / "config.cfg").write_text("\n".join(lines) + "\n")
    assert not load(strict).parse("hello").trusted
    assert load(model_dir).parse("hello").trusted


def test_parse_many_matches_parse(model: NLUModel) -> None:
    texts = ["hi", "bye", "order a pizza", "I love computer vision"]
    batched, single = model.parse_many(texts), [model.parse(t) for t in texts]
    assert [(p.intent, p.trusted, p.entities) for p in batched] == [
        (p.intent, p.trusted, p.entities) for p in single
    ]
    # The batch path multiplies a sparse matrix, the single path gathers rows: same to 1e-6.
    for b, s in zip(batched, single, strict=True):
        assert [i.confidence for i in b.intents] == pytest.approx(
            [i.confidence for i in s.intents], rel=1e-4, abs=1e-6
        )


def test_parse_from_many_threads_matches_serial(model: NLUModel) -> None:
    # New words grow the vocab while parsing: the case that needs the lock.
    texts = [f"hello newword{i} robots xyz{i * 7}" for i in range(200)]
    serial = [model.parse(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(model.parse, texts))
    assert threaded == serial


def test_training_is_deterministic(small_data, model: NLUModel) -> None:
    nlp = train(small_data, options=TrainOptions(seed=0, progress=False))
    again = NLUModel(nlp, Path("memory"))
    assert again.parse("hello robots") == model.parse("hello robots")
    assert nlp.meta["threadbot"]["gate"] == model.meta["gate"]


def test_split_holds_out_per_intent_and_keeps_two_for_training(small_data) -> None:
    train_ex, val_ex = split(small_data, holdout=0.5, seed=0)
    assert len(train_ex) + len(val_ex) == len(small_data.examples)
    assert {e.intent for e in train_ex} == small_data.intent_names
    assert {e.intent for e in val_ex} == small_data.intent_names


def test_given_validation_data_is_used(small_data) -> None:
    val = small_data.subset(small_data.examples[::4])
    nlp = train(small_data, val=val, options=TrainOptions(progress=False))
    assert nlp.meta["threadbot"]["validation"]["source"] == "given"
    assert nlp.meta["threadbot"]["validation"]["examples"] == len(val.examples)


def test_missing_directory_names_path_and_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        load(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(caught.value)
    assert "threadbot nlu train" in str(caught.value)
    assert isinstance(caught.value, NLUError)


def test_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="not an NLU model"):
        load(tmp_path / "empty")
    build_pipeline().to_disk(tmp_path / "plain")  # a spaCy pipeline, but never trained by us
    with pytest.raises(ModelNotFoundError, match="not a threadbot NLU model"):
        load(tmp_path / "plain")


def test_data_without_entities_trains_a_model_that_parses_quietly(tmp_path: Path) -> None:
    from nlu.data import from_pairs
    from nlu.train import save

    pairs = [(f"{w} please", "ask") for w in ("help", "info", "details", "advice")]
    pairs += [(f"{w} now", "go") for w in ("leave", "exit", "quit", "stop")]
    nlp = train(from_pairs(pairs), options=TrainOptions(progress=False))
    model = load(save(nlp, tmp_path / "m"))  # filterwarnings=error: a W036 warning would fail
    assert model.parse("some help please").entities == ()
    assert "entity_ruler" in model.nlp.disabled


def test_closed_labels_train_no_entity_model(model: NLUModel) -> None:
    # ai_topic is closed in the small data: rules only, as in models saved before open labels.
    assert "ner" not in model.nlp.pipe_names
    assert "entity_intent_filter" not in model.nlp.pipe_names
    assert "entity_model" not in model.meta
    assert {e.source for e in model.parse("I work on ML and gpt4").entities} == {"rule"}
