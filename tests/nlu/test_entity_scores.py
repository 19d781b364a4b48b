"""Strict entity precision, recall and F1 per label, and the label confusion table."""

from __future__ import annotations

import pytest

from nlu.data import Span
from nlu.entity_scores import NONE, confusion_lines, entity_scores
from nlu.types import Entity


def ent(start: int, end: int, label: str, source: str = "model") -> Entity:
    return Entity(label, "x" * (end - start), start, end, "x", source)


def test_strict_match_per_label_sources_and_confusions() -> None:
    gold = [
        (Span(0, 5, "city"), Span(9, 14, "date")),
        (Span(3, 8, "city"),),
        (),
    ]
    predicted = [
        (ent(0, 5, "city", "rule"), ent(9, 14, "time")),  # right; wrong label
        (ent(3, 7, "city"),),  # boundary off by one: wrong under strict matching
        (ent(0, 2, "date"),),  # nothing there
    ]
    scores = entity_scores(gold, predicted)
    assert scores is not None
    assert scores["micro"] == {"precision": 0.25, "recall": 0.3333, "f1": 0.2857, "support": 3}
    assert scores["per_label"]["city"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
    }
    assert scores["per_label"]["time"]["precision"] == 0.0
    assert scores["by_source"] == {
        "model": {"predicted": 3, "correct": 0},
        "rule": {"predicted": 1, "correct": 1},
    }
    pairs = {(c["gold"], c["predicted"]): c["count"] for c in scores["confusion"]}
    assert pairs == {("date", "time"): 1, ("city", NONE): 1, (NONE, "city"): 1, (NONE, "date"): 1}
    lines = confusion_lines(scores)
    assert len(lines) == 4 and any("date" in ln and "-> time: 1" in ln for ln in lines)


def test_no_entities_on_either_side_gives_no_scores() -> None:
    assert entity_scores([(), ()], [(), ()]) is None


@pytest.mark.parametrize("label", ["\u202ecity", "ci\u200bty"])
def test_hostile_labels_are_counted_as_given(label: str) -> None:
    scores = entity_scores([(Span(0, 1, label),)], [(ent(0, 1, label),)])
    assert scores is not None and scores["per_label"][label]["f1"] == 1.0
