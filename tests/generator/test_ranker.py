"""The learned ranker (generator/ranker.py): listwise fitting on synthetic candidate groups,
response-selection figures, its JSON file, its features, and selection.report on top of it."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from generator.decode import DecodeOptions
from generator.index import IndexPair, ReplyIndex, build
from generator.ranker import (
    FEATURES,
    FORMAT,
    Featurizer,
    Ranker,
    RankerError,
    Scores,
    fit,
    selection_metrics,
)
from generator.reuse import ReplySource
from generator.selection import mmi_score, report, train_ranker
from nlu.wordvectors import VectorSettings, WordVectors

pytestmark = pytest.mark.torch  # fit() runs L-BFGS in torch

WIDTH = len(FEATURES)
OVERLAP, SEMANTIC = FEATURES.index("overlap"), FEATURES.index("semantic")


def synthetic_groups(n: int, seed: int, size: int = 20) -> list[list[list[float]]]:
    """``n`` groups of ``size`` candidates with noise features; the first (the human reply)
    overlaps the message more and is nearer in meaning, as a true reply tends to be."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        rows = [[rng.gauss(0.0, 1.0) for _ in range(WIDTH)] for _ in range(size)]
        rows[0][OVERLAP] += 2.5
        rows[0][SEMANTIC] += 1.5
        out.append(rows)
    return out


@pytest.fixture(scope="module")
def trained() -> Ranker:
    return fit(synthetic_groups(80, seed=0), trained_on={"corpus": "synthetic"})


def test_the_ranker_learns_to_put_the_human_reply_first(trained: Ranker) -> None:
    held_out = synthetic_groups(100, seed=1)
    learned = selection_metrics([trained.score(g) for g in held_out])
    # By one noise feature instead: about 1 in 20 by chance.
    noise = FEATURES.index("tokens")
    chance = selection_metrics([[row[noise] for row in g] for g in held_out])
    assert learned["hits_at_1"] >= 0.8 and learned["mrr"] >= 0.85
    assert chance["hits_at_1"] <= 0.2
    assert learned["mrr"] > chance["mrr"] + 0.5
    weights = trained.named_weights()
    assert list(weights) == list(FEATURES)
    assert weights["overlap"] > weights["semantic"] > 0  # the stronger tell weighs more
    others = [abs(w) for name, w in weights.items() if name not in ("overlap", "semantic")]
    assert max(others) < weights["semantic"] / 2
    assert trained.trained_on == {"groups": 80, "corpus": "synthetic"}


def test_fit_is_deterministic_and_standardises_features() -> None:
    groups = synthetic_groups(30, seed=2)
    first, again = fit(groups), fit(groups)
    assert first == again
    flat = np.array([row for g in groups for row in g])
    assert np.allclose(first.mean, flat.mean(0)) and np.allclose(first.scale, flat.std(0, ddof=1))
    # A feature that never varies gets a floor scale, not a division by zero.
    constant = [[[*row[:-1], 7.0] for row in g] for g in groups]
    flat_ranker = fit(constant)
    assert flat_ranker.scale[-1] == pytest.approx(1e-6) and flat_ranker.mean[-1] == 7.0
    assert all(math.isfinite(w) for w in flat_ranker.weights)
    assert all(math.isfinite(s) for s in flat_ranker.score(constant[0]))


def test_fit_takes_groups_of_any_size_and_needs_a_negative() -> None:
    groups = [g[: 2 + i % 7] for i, g in enumerate(synthetic_groups(60, seed=3))]
    groups.append(synthetic_groups(1, seed=4)[0][:1])  # no negative: left out
    ranker = fit(groups)
    assert ranker.trained_on["groups"] == 60
    assert selection_metrics([ranker.score(g) for g in groups[:-1]])["hits_at_1"] >= 0.8
    with pytest.raises(ValueError, match="at least one negative"):
        fit([[[0.0] * WIDTH]])
    with pytest.raises(ValueError, match="at least one negative"):
        fit([])


def test_selection_metrics_count_ties_against_the_true_reply() -> None:
    assert selection_metrics([[3.0, 1.0, 2.0]]) == {"hits_at_1": 1.0, "mrr": 1.0}
    assert selection_metrics([[1.0, 3.0, 2.0]]) == pytest.approx({"hits_at_1": 0.0, "mrr": 1 / 3})
    assert selection_metrics([[1.0, 1.0]]) == {"hits_at_1": 0.0, "mrr": 0.5}
    both = selection_metrics([[2.0, 1.0], [0.0, 5.0, -1.0, 0.0]])
    assert both == pytest.approx({"hits_at_1": 0.5, "mrr": (1 + 1 / 3) / 2})
    assert selection_metrics([]) == {"hits_at_1": 0.0, "mrr": 0.0}
    assert selection_metrics([[float("-inf")], [5.0]]) == {"hits_at_1": 1.0, "mrr": 1.0}


def _hand_ranker() -> Ranker:
    weights = [0.0] * WIDTH
    weights[OVERLAP], weights[SEMANTIC], weights[0] = 2.0, -0.5, 1.0
    return Ranker(tuple(weights), tuple([1.0] * WIDTH), tuple([2.0] * WIDTH), {"by": "hand"})


def test_scores_are_sums_of_standardised_contributions() -> None:
    ranker = _hand_ranker()
    at_mean = [1.0] * WIDTH
    assert ranker.score([at_mean]) == [0.0]
    row = [1.0] * WIDTH
    row[OVERLAP], row[SEMANTIC], row[0] = 5.0, 3.0, -1.0
    parts = ranker.contributions(row)
    assert parts[OVERLAP] == pytest.approx(4.0)  # 2.0 * (5 - 1) / 2
    assert parts[SEMANTIC] == pytest.approx(-0.5) and parts[0] == pytest.approx(-1.0)
    assert ranker.score([row, at_mean]) == pytest.approx([sum(parts), 0.0])
    with pytest.raises(ValueError):
        ranker.contributions(row[:-1])  # a row of other features is refused, not zipped short


def test_top_features_are_the_largest_contributions_signed() -> None:
    ranker = _hand_ranker()
    row = [1.0] * WIDTH
    row[OVERLAP], row[SEMANTIC], row[0] = 5.0, 3.0, -1.0
    assert ranker.top_features(row) == {"overlap": 4.0, FEATURES[0]: -1.0, "semantic": -0.5}
    assert list(ranker.top_features(row, n=2)) == ["overlap", FEATURES[0]]
    assert len(ranker.top_features(row, n=WIDTH)) == WIDTH
    row[OVERLAP] = 1.0 + 2 / 3  # rounded to 3 places for the turn record
    assert ranker.top_features(row, n=1) == {FEATURES[0]: -1.0}
    assert ranker.top_features(row, n=3)["overlap"] == 0.667


def test_an_absent_yes_no_feature_reads_as_not() -> None:
    question = FEATURES.index("question")
    weights = [0.0] * WIDTH
    weights[question] = 2.0
    ranker = Ranker(tuple(weights), tuple([0.5] * WIDTH), tuple([0.5] * WIDTH), {})
    asks, tells = [0.5] * WIDTH, [0.5] * WIDTH
    asks[question], tells[question] = 1.0, 0.0
    assert ranker.top_features(asks, n=1) == {"question": 2.0}
    assert ranker.top_features(tells, n=1) == {"not question": -2.0}
    # A feature that is a number, not a flag, keeps its name whatever its value.
    assert "not overlap" not in ranker.top_features([0.0] * WIDTH, n=WIDTH)


def test_save_and_load_round_trip(tmp_path: Path, trained: Ranker) -> None:
    path = tmp_path / "ranker.json"
    trained.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == FORMAT and data["features"] == list(FEATURES)
    loaded = Ranker.load(path)
    assert loaded == trained
    rows = synthetic_groups(1, seed=9)[0]
    assert loaded.score(rows) == trained.score(rows)


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_bad_ranker_file_names_itself_and_how_to_rebuild(tmp_path: Path) -> None:
    good = _hand_ranker()
    good.save(tmp_path / "good.json")
    data = json.loads((tmp_path / "good.json").read_text())

    other = _write(tmp_path / "other.json", {**data, "features": ["logp", "length"]})
    with pytest.raises(RankerError, match="written for other features") as err:
        Ranker.load(other)
    assert str(other) in str(err.value)
    assert "threadbot generator index --model DIR" in str(err.value)
    old = _write(tmp_path / "old.json", {**data, "format": "threadbot-ranker/0"})
    with pytest.raises(RankerError, match="written for other features"):
        Ranker.load(old)

    cases = {
        "absent.json": None,
        "garbage.json": "{not json",
        "no_weights.json": {k: v for k, v in data.items() if k != "weights"},
        "words.json": {**data, "mean": ["a"] * WIDTH},
        "null.json": {**data, "scale": None},
        "nested.json": {**data, "trained_on": "not a mapping"},
    }
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content)
        elif content is not None:
            _write(path, content)
        with pytest.raises(RankerError, match="not a readable ranker file") as err:
            Ranker.load(path)
        assert str(path) in str(err.value)

    short = _write(tmp_path / "short.json", {**data, "weights": data["weights"][:-1]})
    with pytest.raises(RankerError, match=f"expected {WIDTH} weights") as err:
        Ranker.load(short)
    assert str(short) in str(err.value)


@pytest.mark.parametrize("content", ["[]", "null", "5", '"ranker"'])
def test_a_ranker_file_that_is_not_an_object_is_a_ranker_error(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "ranker.json"
    path.write_text(content)
    with pytest.raises(RankerError):
        Ranker.load(path)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplyIndex]:
    path = tmp_path_factory.mktemp("ranker_index") / "index.sqlite"
    replies = [
        "my puppy chews every shoe",
        "the dog park is lovely",
        "tax forms are so confusing",
        "the dog sleeps all day",
    ]
    pairs = [
        IndexPair("hand", f"c{i}", "tell me about pets and money", r) for i, r in enumerate(replies)
    ]
    build(path, pairs, [ReplySource("hand", "test", reuse_allowed=True)])
    index = ReplyIndex(path)
    yield index
    index.close()


def _vectors() -> WordVectors:
    table = {
        "puppy": [1.0, 0.3, 0.0],
        "dog": [0.9, 0.4, 0.1],
        "tax": [0.0, 0.1, 1.0],
        "forms": [0.1, 0.0, 0.9],
    }
    rows = np.array(list(table.values()), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return WordVectors(list(table), rows, VectorSettings(dim=3))


def test_featurizer_overlap_and_semantic(small_index: ReplyIndex) -> None:
    feat = Featurizer(small_index, _vectors())
    assert feat.overlap("the dog park", "The DOG park!") == pytest.approx(1.0)
    assert feat.overlap("dog", "tax forms") == 0.0
    assert feat.overlap("", "dog") == 0.0 and feat.overlap("\u200b\ud800", "\u202e") == 0.0
    # A rare shared word counts for more than a common one.
    assert feat.overlap("puppy chews", "puppy shoe") > feat.overlap("dog chews", "dog shoe")
    # "puppy" and "dog" share no word but are near in meaning; "tax" is not.
    assert feat.semantic("puppy", "dog") > 0.9
    assert feat.semantic("puppy", "tax forms") < 0.3
    assert feat.semantic("puppy", "zebra") == 0.0  # no known content word: no evidence
    assert feat.semantic("", "dog") == 0.0


def test_featurizer_row_has_one_value_per_feature(small_index: ReplyIndex) -> None:
    feat = Featurizer(small_index, _vectors())
    scores = Scores(logp=-12.0, anti_lm=-20.0, tokens=6)
    row = dict(
        zip(FEATURES, feat.row("my puppy", "is your dog ok?", scores, "retrieved"), strict=True)
    )
    assert row["logp"] == pytest.approx(-2.0) and row["anti_lm"] == pytest.approx(-20 / 6)
    assert row["tokens"] == 6.0 and row["question"] == 1.0 and row["stock"] == 0.0
    assert row["specificity"] == pytest.approx(small_index.specificity("is your dog ok?"))
    assert row["semantic"] > 0.9 and row["overlap"] == 0.0
    if "generated" in row:
        assert row["generated"] == 0.0
        generated = feat.row("my puppy", "is your dog ok?", scores, "generated")
        assert generated[FEATURES.index("generated")] == 1.0
    stock = feat.row("hi", "i don't know", Scores(0.0, 0.0, 0), "grounded")
    assert stock[FEATURES.index("stock")] == 1.0 and stock[FEATURES.index("tokens")] == 1.0
    hostile = feat.row("\ud800\u202e", "\u200b\ufeff?", scores, "generated")
    assert len(hostile) == WIDTH and all(math.isfinite(x) for x in hostile)


def test_selection_report_compares_mmi_retrieval_and_the_ranker(trained: Ranker) -> None:
    options = DecodeOptions()
    rows = synthetic_groups(40, seed=5)
    found = report(rows, trained, options)
    assert set(found) == {"mmi", "retrieval", "ranker", "groups"}
    assert found["groups"] == {"count": 40.0}
    assert found["ranker"] == selection_metrics([trained.score(g) for g in rows])
    overlap_only = selection_metrics([[r[OVERLAP] for r in g] for g in rows])
    assert found["retrieval"] == overlap_only and found["retrieval"]["hits_at_1"] >= 0.5
    assert found["ranker"]["mrr"] >= found["retrieval"]["mrr"] - 0.05
    assert found["mmi"]["hits_at_1"] < found["ranker"]["hits_at_1"]

    # The MMI score is the served one: tokens * (logp - weight * anti_lm + bonus).
    row = [0.0] * WIDTH
    row[FEATURES.index("logp")], row[FEATURES.index("anti_lm")] = -2.0, -4.0
    row[FEATURES.index("tokens")] = 5.0
    assert mmi_score(row, options) == pytest.approx(5 * (-2.0 + 0.75 * 4.0 + 1.0))
    pure = replace(options, mmi_weight=0.0, length_bonus=0.0)
    assert mmi_score(row, pure) == pytest.approx(-10.0)


def test_train_ranker_records_what_it_was_trained_on() -> None:
    ranker = train_ranker(synthetic_groups(20, seed=6), corpora=["chitchat"])
    assert ranker.trained_on == {"groups": 20, "corpora": ["chitchat"]}
