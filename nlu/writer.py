"""Write training data as threadbot's ``intents.yml`` (what ``threadbot nlu convert`` does)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from nlu.data import Example, TrainingData

# The YAML format has no escape for a bracket outside an annotation; round ones keep the sense.
_BRACKETS = str.maketrans("[]", "()")


def annotated_text(example: Example) -> str:
    """The example's text with its spans written back as ``[text](label)``."""
    out, pos = [], 0
    for span in sorted(example.spans, key=lambda s: s.start):
        out.append(example.text[pos : span.start].translate(_BRACKETS))
        inner = example.text[span.start : span.end].translate(_BRACKETS).replace("\n", " ")
        out.append(f"[{inner}]({span.label})")
        pos = span.end
    out.append(example.text[pos:].translate(_BRACKETS))
    return "".join(out)


def intents_document(data: TrainingData) -> dict[str, Any]:
    """The ``intents.yml`` structure of ``data``: intents in first-seen order, then entities."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in data.examples:
        by_intent[example.intent].append(annotated_text(example))
    doc: dict[str, Any] = {
        "version": 1,
        "intents": [{"name": name, "examples": texts} for name, texts in by_intent.items()],
    }
    entities = {}
    for label, spec in sorted(data.entities.items()):
        entry: dict[str, Any] = {"open": True} if spec.open else {}
        groups: dict[str, list[str]] = defaultdict(list)
        for variant, canonical in spec.synonyms.items():
            if variant != canonical.casefold():
                groups[canonical].append(variant)
            else:
                groups.setdefault(canonical, [])
        if groups:
            entry["synonyms"] = dict(groups)
        if spec.lookup:
            entry["lookup"] = list(spec.lookup)
        if spec.patterns:
            entry["patterns"] = list(spec.patterns)
        entities[label] = entry or None
    if entities:
        doc["entities"] = entities
    return doc


def write_intents(data: TrainingData, out: Path) -> Path:
    """Write ``data`` to ``out`` as ``intents.yml``; loading it back gives the same examples."""
    header = f"# Converted from {data.source} by `threadbot nlu convert`.\n"
    body = yaml.safe_dump(intents_document(data), allow_unicode=True, sort_keys=False, width=1000)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + body, encoding="utf-8")
    return out
