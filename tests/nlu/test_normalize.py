"""Tweet normalisation: the classifier sees one form for the many ways tweets write a word."""

from __future__ import annotations

import pytest
import spacy

from nlu.normalize import MENTION, URL, normalize_doc, normalized_text

NLP = spacy.blank("en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Ada_bot hello", f"{MENTION} hello"),
        ("see https://t.co/abc now", f"see {URL} now"),
        ("I love #MachineLearning", "i love machine learning"),
        ("#AI rocks", "ai rocks"),
        ("soooo cool", "soo cool"),
        ("HELLO There", "hello there"),
        ("thanks 😀", "thanks emoji_grinning_face"),
        ("good", "good"),
    ],
)
def test_normalized_text(text: str, expected: str) -> None:
    assert normalized_text(normalize_doc(NLP(text))) == expected


def test_original_text_and_offsets_are_kept() -> None:
    doc = normalize_doc(NLP("@Ada_bot soooo #AI"))
    assert doc.text == "@Ada_bot soooo #AI"
    assert [t.text for t in doc] == ["@Ada_bot", "soooo", "#", "AI"]
