"""Entity precision, recall and F1 per label with strict matching, and a label confusion table.

Strict: a predicted entity is right only when its start, end and label all equal a gold span's.
The confusion table pairs gold and predicted labels of spans with the same boundaries; a span
only one side has is paired with ``NONE``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from nlu.data import Span
from nlu.types import Entity

NONE = "(none)"


def entity_scores(
    gold: Sequence[tuple[Span, ...]], predicted: Sequence[tuple[Entity, ...]]
) -> dict[str, Any] | None:
    """Score predicted entities against gold spans, example by example; None if neither has any."""
    gold_keys = {(i, s.start, s.end): s.label for i, spans in enumerate(gold) for s in spans}
    pred_keys = {(i, e.start, e.end): e.label for i, ents in enumerate(predicted) for e in ents}
    if not gold_keys and not pred_keys:
        return None
    pairs: Counter[tuple[str, str]] = Counter()
    for key in gold_keys.keys() | pred_keys.keys():
        pairs[(gold_keys.get(key, NONE), pred_keys.get(key, NONE))] += 1
    labels = sorted(set(gold_keys.values()) | set(pred_keys.values()))
    per_label = {
        label: _prf(
            pairs[(label, label)],
            sum(c for (_, p), c in pairs.items() if p == label),
            sum(c for (g, _), c in pairs.items() if g == label),
        )
        for label in labels
    }
    right = sum(pairs[(label, label)] for label in labels)
    sources: dict[str, dict[str, int]] = {}
    for i, ents in enumerate(predicted):
        for e in ents:
            tally = sources.setdefault(e.source, {"predicted": 0, "correct": 0})
            tally["predicted"] += 1
            tally["correct"] += gold_keys.get((i, e.start, e.end)) == e.label
    return {
        "micro": _prf(right, len(pred_keys), len(gold_keys)),
        "per_label": per_label,
        "by_source": dict(sorted(sources.items())),
        "confusion": [
            {"gold": g, "predicted": p, "count": c}
            for (g, p), c in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
            if g != p
        ],
    }


def confusion_lines(scores: dict[str, Any], top: int = 10) -> list[str]:
    """The most frequent label confusions as aligned text lines, for the terminal."""
    rows = scores["confusion"][:top]
    if not rows:
        return []
    width = max(len(r["gold"]) for r in rows)
    return [f"  {r['gold']:<{width}} -> {r['predicted']}: {r['count']}" for r in rows]


def _prf(right: int, predicted: int, gold: int) -> dict[str, float | int]:
    """Precision, recall, F1 and support (gold count), rounded for reports."""
    p = right / predicted if predicted else 0.0
    r = right / gold if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "support": gold}
