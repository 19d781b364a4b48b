"""Score parses against gold data: accuracy, per-intent P/R/F1, in-scope, oos and entity figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nlu.data import OUT_OF_SCOPE, Example, Span
from nlu.entity_scores import entity_scores
from nlu.types import Parse

FALLBACK = "out_of_scope"  # what an untrusted parse counts as: the bot would not use its intent


@dataclass
class Outcome:
    """One evaluated example: gold intent, the decision the bot would act on, the parse."""

    text: str
    gold: str
    predicted: str
    parse: Parse
    spans: tuple[Span, ...] = ()  # the gold entity spans

    @property
    def correct(self) -> bool:
        """True when the decision matches the gold intent."""
        return self.predicted == self.gold


@dataclass
class Report:
    """Every figure ``nlu test`` writes, plus the outcomes the plots are drawn from."""

    outcomes: list[Outcome]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def misclassified(self) -> list[dict[str, Any]]:
        """The wrong decisions as plain dicts, for JSON."""
        return [
            {
                "text": o.text,
                "gold": o.gold,
                "predicted": o.predicted,
                "top_intent": o.parse.intent,
                "confidence": round(o.parse.confidence, 4),
                "trusted": o.parse.trusted,
                "ranking": [[s.name, round(s.confidence, 4)] for s in o.parse.intents],
            }
            for o in self.outcomes
            if not o.correct
        ]


def decision(parse: Parse) -> str:
    """The intent the bot acts on: the top one when trusted, else the fallback."""
    if parse.intent is None or not parse.trusted or parse.intent in OUT_OF_SCOPE:
        return FALLBACK
    return parse.intent


def evaluate(examples: Sequence[Example], parses: Sequence[Parse]) -> Report:
    """Compare parses with the examples' gold intents (any out-of-scope name counts as one)."""
    outcomes = [
        Outcome(e.text, FALLBACK if e.intent in OUT_OF_SCOPE else e.intent, decision(p), p, e.spans)
        for e, p in zip(examples, parses, strict=True)
    ]
    return Report(outcomes, metrics(outcomes))


def metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy, top-1 before the gate, per-intent P/R/F1, in-scope, oos and entity figures."""
    n = len(outcomes)
    in_scope = [o for o in outcomes if o.gold != FALLBACK]
    oos = [o for o in outcomes if o.gold == FALLBACK]
    top1 = [o for o in in_scope if o.parse.intent == o.gold]
    result: dict[str, Any] = {
        "examples": n,
        "accuracy": _ratio(sum(o.correct for o in outcomes), n),
        "in_scope_examples": len(in_scope),
        "in_scope_accuracy": _ratio(sum(o.correct for o in in_scope), len(in_scope)),
        "in_scope_top1_accuracy": _ratio(len(top1), len(in_scope)),
        "oos_examples": len(oos),
        "oos_recall": _ratio(sum(o.correct for o in oos), len(oos)) if oos else None,
        "fallback_rate": _ratio(sum(o.predicted == FALLBACK for o in outcomes), n),
        "per_intent": per_intent(outcomes),
    }
    entities = entity_scores([o.spans for o in outcomes], [o.parse.entities for o in outcomes])
    if entities is not None:
        result["entities"] = entities
    return result


def per_intent(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support of each gold or predicted intent."""
    gold = [o.gold for o in outcomes]
    predicted = [o.predicted for o in outcomes]
    return label_scores(gold, predicted, sorted(set(gold) | set(predicted)))


def label_scores(
    gold_labels: Sequence[str], predicted_labels: Sequence[str], labels: Sequence[str]
) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support of each of ``labels`` (intents, stances)."""
    pairs = list(zip(gold_labels, predicted_labels, strict=True))
    gold = Counter(g for g, _ in pairs)
    predicted = Counter(p for _, p in pairs)
    right = Counter(g for g, p in pairs if g == p)
    table = {}
    for label in labels:
        p = _ratio(right[label], predicted[label])
        r = _ratio(right[label], gold[label])
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        table[label] = {"precision": p, "recall": r, "f1": round(f1, 4), "support": gold[label]}
    return table


def confusions(outcomes: Sequence[Outcome]) -> Counter[tuple[str, str]]:
    """Counts of (gold, predicted) pairs among the wrong decisions."""
    return Counter((o.gold, o.predicted) for o in outcomes if not o.correct)


def _ratio(a: int, b: int) -> float:
    """a / b rounded for reports; 0.0 when b is 0."""
    return round(a / b, 4) if b else 0.0
