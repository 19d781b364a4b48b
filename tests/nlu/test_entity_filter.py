"""The intent filter of learned entities: labels must fit a likely intent; rules always stay."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span

from nlu.data import Example
from nlu.data import Span as GoldSpan
from nlu.entity_filter import FILTER, EntityIntentFilter

EXAMPLES = [
    Example("wake me at seven", "alarm_set", (GoldSpan(11, 16, "time"),)),
    Example("call mum", "call", (GoldSpan(5, 8, "person"),)),
    Example("what is the date of easter", "date_query", (GoldSpan(20, 26, "date"),)),
    Example("book tickets for easter fair", "events", (GoldSpan(17, 28, "event_name"),)),
]


@pytest.fixture
def entity_filter() -> EntityIntentFilter:
    nlp = spacy.blank("en")
    component = nlp.add_pipe(FILTER, config={"min_confidence": 0.1})
    component.learn(EXAMPLES, {"time", "person", "date", "event_name"})
    return component


def parsed(cats: dict[str, float], ents: list[tuple[int, int, str, str]]) -> Doc:
    """'ask bob about easter at seven' with ``cats`` and spans (token start, end, label, id)."""
    doc = spacy.blank("en").make_doc("ask bob about easter at seven")
    doc.cats = cats
    doc.ents = [Span(doc, start, end, label, span_id=id_) for start, end, label, id_ in ents]
    return doc


def labels(doc: Doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def test_learned_labels_not_annotated_under_a_likely_intent_are_dropped(
    entity_filter: EntityIntentFilter,
) -> None:
    doc = parsed(
        {"date_query": 0.9, "events": 0.05, "call": 0.05},
        [(1, 2, "person", ""), (3, 4, "event_name", ""), (5, 6, "date", "")],
    )
    # events (0.05) is below min_confidence 0.1: only date_query's labels stay.
    assert labels(entity_filter(doc)) == [("seven", "date")]


def test_a_second_intent_at_min_confidence_keeps_its_labels(
    entity_filter: EntityIntentFilter,
) -> None:
    doc = parsed(
        {"date_query": 0.6, "events": 0.3, "call": 0.1},
        [(1, 2, "person", ""), (3, 4, "event_name", ""), (5, 6, "time", "")],
    )
    assert labels(entity_filter(doc)) == [("bob", "person"), ("easter", "event_name")]


def test_rule_matches_stay_whatever_the_intent(entity_filter: EntityIntentFilter) -> None:
    doc = parsed({"call": 1.0}, [(3, 4, "event_name", "Easter Sunday"), (5, 6, "time", "")])
    assert labels(entity_filter(doc)) == [("easter", "event_name")]


def test_docs_without_intents_are_left_alone(entity_filter: EntityIntentFilter) -> None:
    # Training runs the pipeline before the classifier is fitted: cats are empty then.
    doc = parsed({}, [(1, 2, "person", ""), (5, 6, "time", "")])
    assert labels(entity_filter(doc)) == [("bob", "person"), ("seven", "time")]


def test_the_table_survives_a_save_and_load(
    entity_filter: EntityIntentFilter, tmp_path: Path
) -> None:
    entity_filter.to_disk(tmp_path / "filter")
    again = EntityIntentFilter("again", 0.1).from_disk(tmp_path / "filter")
    assert again.labels_by_intent == entity_filter.labels_by_intent
    assert again.labels_by_intent["events"] == {"event_name"}


def test_min_confidence_outside_0_1_is_refused() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        spacy.blank("en").add_pipe(FILTER, config={"min_confidence": 1.5})
