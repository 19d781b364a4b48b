"""Building a model folder's hybrid fallback (generator/fallback_build.py) and `threadbot
generator index`, on a tiny model and a small collected corpus whose reuse is allowed."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator
from generator import checkpoint
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.cli import generator as generator_cli
from generator.data import Conversation, load_corpus
from generator.fallback_build import PLOT_FILE, Corpus, build_fallback, describe, index_pairs
from generator.index import IndexPair, ReplyIndex
from generator.ranker import FEATURES, Ranker
from generator.reuse import ReplySource, drop_reason
from generator.scoring import split_for_eval
from nlu.wordvectors import SHIPPED, WordVectors

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels

THINGS = ["music", "movies", "books", "games", "coffee", "pizza", "dogs", "cats", "trains"]
ADJECTIVES = ["small", "big", "old", "new", "quiet", "loud", "cheap", "fancy"]
FEELINGS = ["happy", "calm", "tired", "curious", "excited", "bored"]
TWEETS = ReplySource("tweets", "collected from X", reuse_allowed=True)


def write_collected(path: Path, conversations: int = 150) -> Path:
    """Conversations that all mention robots, so every message retrieves plenty of others'
    replies; each reply is distinct and keeps to words the shipped vectors know."""
    combos = list(itertools.product(ADJECTIVES, FEELINGS))
    random.Random(0).shuffle(combos)
    vocabulary = WordVectors.load(SHIPPED).index
    with path.open("w", encoding="utf-8") as fh:
        for n in range(conversations):
            thing = THINGS[n % len(THINGS)]
            adjective, feeling = combos[n % len(combos)]
            turns = [
                f"what do you think about robots and {thing}",
                f"{adjective} {thing} always make me feel {feeling}",
            ]
            assert drop_reason(*turns, vocabulary) is None
            fh.write(json.dumps({"id": f"t{n}", "topic": "ai", "turns": turns}) + "\n")
    return path


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_collected(tmp_path_factory.mktemp("collected") / "tweets.jsonl")


def model_folder(tiny_model: Path, path: Path) -> Path:
    path.mkdir()
    shutil.copyfile(tiny_model / "best.pt", path / "best.pt")
    return path


def test_index_pairs_keep_the_parent_thread_and_previous_turn(collected: Path) -> None:
    conv = load_corpus(collected)[0]
    turns = (*conv.turns, "tell me more about robots please")
    threaded = Conversation("t0#2", turns, conv.topic)
    pairs = list(index_pairs([threaded], "tweets"))
    assert pairs == [
        IndexPair("tweets", "t0", turns[0], turns[1], ""),
        IndexPair("tweets", "t0", turns[1], turns[2], turns[0]),
    ]


def test_build_fallback_writes_an_index_and_ranker_that_serve(
    tiny_model_of_kind: Path, tmp_path: Path, collected: Path
) -> None:
    folder = model_folder(tiny_model_of_kind, tmp_path / "model")
    before = generator.load(folder)
    assert not before.hybrid

    found = build_fallback(
        folder, [Corpus(str(collected), TWEETS)], train_examples=40, validation_examples=20
    )
    assert {p.name for p in folder.iterdir()} == {"best.pt", INDEX_FILE, RANKER_FILE, PLOT_FILE}
    assert not list(folder.glob("*.tmp"))

    # The index holds the training split only: no validation reply can answer its own message.
    data = checkpoint.data_config(checkpoint.read(folder))
    convs = load_corpus(collected)
    train = split_for_eval(convs, data, "train")
    validation = split_for_eval(convs, data, "validation")
    assert train and validation
    assert found.index.kept == {"tweets": len(train)} and not found.index.dropped
    index = ReplyIndex(folder / INDEX_FILE)
    try:
        indexed = {reply for _, reply in index.all_replies()}
        assert index.sources == {"tweets": TWEETS.licence}
    finally:
        index.close()
    assert indexed == {c.turns[1] for c in train}
    assert not indexed & {c.turns[1] for c in validation}

    # The ranker was trained and judged on groups of 20, and says so.
    ranker = Ranker.load(folder / RANKER_FILE)
    assert ranker.trained_on["corpora"] == ["tweets"]
    assert 0 < int(str(ranker.trained_on["groups"])) <= 40
    assert ranker.trained_on["validation"] == found.selection
    assert set(found.selection) == {"mmi", "retrieval", "ranker", "groups"}
    assert 0 < found.selection["groups"]["count"] <= 20
    for scorer in ("mmi", "retrieval", "ranker"):
        figures = found.selection[scorer]
        assert 0 <= figures["hits_at_1"] <= figures["mrr"] <= 1
        assert figures["mrr"] >= 1 / 20  # every group holds 20 candidates
    assert found.weights == ranker.named_weights() and list(found.weights) == list(FEATURES)
    lines = describe(found)
    assert lines[0] == f"kept {len(train)} of {len(train)} pairs"
    assert any(line.strip().startswith("ranker: Hits@1/20") for line in lines)
    assert lines[-1] == f"(validation groups: {int(found.selection['groups']['count'])})"

    # The folder now serves the hybrid fallback, under a new version.
    after = generator.load(folder, seed=0)
    assert after.hybrid and after.version != before.version
    out = after.reply(generator.ReplyContext(("what do you think about robots and pizza?",)))
    assert out.text is not None and out.source is not None
    assert out.source["kind"] in {"retrieved", "generated", "grounded"}


def test_index_command_builds_with_allow_reuse(
    tiny_model: Path, tmp_path: Path, collected: Path
) -> None:
    folder = model_folder(tiny_model, tmp_path / "model")
    args = ["index", "--model", str(folder), "--no-chitchat", "--collected", str(collected)]
    args += ["--allow-reuse", "--train-examples", "30", "--validation-examples", "10"]
    res = CliRunner().invoke(generator_cli, args)
    assert res.exit_code == 0, res.output
    assert "tweets:" in res.output and "kept" in res.output
    assert "Hits@1/20" in res.output and "(validation groups:" in res.output
    assert f"wrote {folder / INDEX_FILE}, ranker.json and ranker.png" in res.output
    assert generator.load(folder).hybrid


def test_too_small_a_corpus_fails_cleanly_and_leaves_the_folder_loadable(
    tiny_model: Path, tmp_path: Path
) -> None:
    small = write_collected(tmp_path / "small.jsonl", conversations=6)
    folder = model_folder(tiny_model, tmp_path / "model")
    version = generator.load(folder).version
    args = ["index", "--model", str(folder), "--no-chitchat", "--collected", str(small)]
    res = CliRunner().invoke(generator_cli, [*args, "--allow-reuse"])
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert generator.load(folder).version == version
