"""Choose the temperature and the trust thresholds on a validation split."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nlu.classifier import softmax

THRESHOLDS = np.round(np.arange(0.0, 0.96, 0.01), 2)
MARGINS = np.round(np.arange(0.0, 0.51, 0.02), 2)


@dataclass(frozen=True)
class Gate:
    """Trust the top intent when its confidence and its lead over the second reach these."""

    threshold: float
    margin: float


@dataclass(frozen=True)
class GateScore:
    """How a gate does on validation data; recalls are None where no such example exists."""

    threshold: float
    margin: float
    in_scope_accuracy: float | None
    oos_recall: float | None
    trusted_precision: float | None

    def as_dict(self) -> dict[str, float | None]:
        """Plain dict, for the model's metadata."""
        return asdict(self)


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Return the temperature that minimises the negative log-likelihood of the gold classes."""
    best_t, best_nll = 1.0, np.inf
    # A log-spaced grid, refined once around the best: NLL in T is smooth and one-dimensional.
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 61))
    for _ in range(2):
        for t in grid:
            p = softmax(logits / t)[np.arange(len(gold)), gold]
            nll = float(-np.log(np.clip(p, 1e-12, None)).mean())
            if nll < best_nll:
                best_t, best_nll = float(t), nll
        grid = best_t * np.exp(np.linspace(-0.1, 0.1, 21))
    return best_t


def top_two(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the top class index, its probability and the runner-up's, for each row."""
    rows = np.arange(len(probs))
    if probs.shape[1] < 2:
        return np.zeros(len(probs), dtype=np.int64), probs[:, 0], np.zeros(len(probs))
    part = np.argpartition(-probs, 1, axis=1)[:, :2]
    first = probs[rows, part[:, 0]] >= probs[rows, part[:, 1]]
    top = np.where(first, part[:, 0], part[:, 1])
    second = np.where(first, part[:, 1], part[:, 0])
    return top, probs[rows, top], probs[rows, second]


def decide(probs: np.ndarray, gate: Gate) -> tuple[np.ndarray, np.ndarray]:
    """Return (top class index, trusted flag) for each row of calibrated probabilities."""
    top, p1, p2 = top_two(probs)
    return top, (p1 >= gate.threshold) & (p1 - p2 >= gate.margin)


def score_gate(probs: np.ndarray, gold: np.ndarray, oos: int | None, gate: Gate) -> GateScore:
    """Score one gate: in-scope accuracy counts untrusted answers as wrong (they fall back)."""
    return _score(top_two(probs), gold, oos, gate)


def _score(
    ranked: tuple[np.ndarray, np.ndarray, np.ndarray], gold: np.ndarray, oos: int | None, gate: Gate
) -> GateScore:
    """``score_gate`` on precomputed ``top_two`` output, so a grid search ranks once."""
    top, p1, p2 = ranked
    trusted = (p1 >= gate.threshold) & (p1 - p2 >= gate.margin)
    said_oos = ~trusted if oos is None else (~trusted | (top == oos))
    in_scope = gold != oos if oos is not None else np.ones(len(gold), dtype=bool)
    right = (top == gold) & ~said_oos
    acc = float(right[in_scope].mean()) if in_scope.any() else None
    recall = float(said_oos[~in_scope].mean()) if (~in_scope).any() else None
    answered = ~said_oos
    precision = float((top == gold)[answered].mean()) if answered.any() else None
    return GateScore(gate.threshold, gate.margin, acc, recall, precision)


def choose_gate(
    probs: np.ndarray, gold: np.ndarray, oos: int | None, oos_recall: float = 0.6
) -> GateScore:
    """Pick the threshold and margin for the validation split.

    With out-of-scope examples: the best in-scope accuracy among gates whose out-of-scope recall
    reaches ``oos_recall`` (the best sum of both when none does). Without: the gate that trusts
    the most answers that are more often right than wrong.
    """
    ranked = top_two(probs)
    scores = [
        _score(ranked, gold, oos, Gate(float(t), float(m))) for t in THRESHOLDS for m in MARGINS
    ]
    has_oos = oos is not None and bool((gold == oos).any())
    if has_oos:
        reached = [s for s in scores if (s.oos_recall or 0.0) >= oos_recall]
        if reached:
            return max(reached, key=lambda s: (s.in_scope_accuracy or 0.0, -s.threshold))
        return max(scores, key=lambda s: (s.in_scope_accuracy or 0.0) + (s.oos_recall or 0.0))
    return max(scores, key=lambda s: (_net_right(ranked, gold, s), -s.threshold, -s.margin))


def _net_right(
    ranked: tuple[np.ndarray, np.ndarray, np.ndarray], gold: np.ndarray, score: GateScore
) -> int:
    """Trusted answers that are right minus those that are wrong."""
    top, p1, p2 = ranked
    trusted = (p1 >= score.threshold) & (p1 - p2 >= score.margin)
    return int(((top == gold) & trusted).sum() - ((top != gold) & trusted).sum())
