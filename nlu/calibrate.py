"""Choose the temperature and the trust thresholds on a validation split."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nlu.classifier import softmax
from nlu.trust import TrustGate

THRESHOLDS = np.round(np.arange(0.0, 0.96, 0.01), 2)
MARGINS = np.round(np.arange(0.0, 0.51, 0.02), 2)
# Gates whose net right answers are within this many standard deviations of the count's noise
# (sqrt of the validation examples) of the best one's are tied with it: the data cannot tell
# them apart (docs/benchmarks.md, "a gate that holds still").
NEAR_TIE_SD = 0.75


@dataclass(frozen=True)
class GateScore:
    """How a gate does on validation data; recalls are None where no such example exists."""

    gate: TrustGate
    in_scope_accuracy: float | None
    oos_recall: float | None
    trusted_precision: float | None

    @property
    def threshold(self) -> float:
        return self.gate.threshold

    @property
    def margin(self) -> float:
        return self.gate.margin

    def as_dict(self) -> dict[str, float | None]:
        """Plain dict, for the model's metadata: the gate's values, then its figures."""
        return {**asdict(self.gate), **{k: v for k, v in asdict(self).items() if k != "gate"}}


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


def decide(probs: np.ndarray, gate: TrustGate) -> tuple[np.ndarray, np.ndarray]:
    """Return (top class index, trusted flag) for each row of calibrated probabilities."""
    top, p1, p2 = top_two(probs)
    return top, gate.clears(p1, p2)


def _score(
    ranked: tuple[np.ndarray, np.ndarray, np.ndarray],
    gold: np.ndarray,
    oos: int | None,
    gate: TrustGate,
) -> GateScore:
    """Score one gate on ``top_two`` output (ranked once for the whole grid): in-scope
    accuracy counts untrusted answers as wrong (they fall back)."""
    top, p1, p2 = ranked
    trusted = gate.clears(p1, p2)
    said_oos = ~trusted if oos is None else (~trusted | (top == oos))
    in_scope = gold != oos if oos is not None else np.ones(len(gold), dtype=bool)
    right = (top == gold) & ~said_oos
    acc = float(right[in_scope].mean()) if in_scope.any() else None
    recall = float(said_oos[~in_scope].mean()) if (~in_scope).any() else None
    answered = ~said_oos
    precision = float((top == gold)[answered].mean()) if answered.any() else None
    return GateScore(gate, acc, recall, precision)


def choose_gate(
    probs: np.ndarray,
    gold: np.ndarray,
    oos: int | None,
    oos_recall: float = 0.6,
    wrong_cost: float = 1.0,
) -> GateScore:
    """Pick the threshold and margin on validation data.

    The gate maximises right answers minus ``wrong_cost`` times wrong answers (an answer is a
    trusted, non-out-of-scope top intent; the rest fall back); among the gates the data cannot
    tell from the best, the one in their middle (:func:`_middle_of_the_best`). With
    out-of-scope examples, only gates that send at least ``oos_recall`` of them to the
    fallback compete (the best sum of in-scope accuracy and oos recall when none does).
    ``wrong_cost=0`` maximises in-scope accuracy, the benchmark's measure; 1 stops trusting
    answers that are more often wrong.
    """
    ranked = top_two(probs)
    gates = [TrustGate(float(t), float(m)) for t in THRESHOLDS for m in MARGINS]
    scores = [_score(ranked, gold, oos, g) for g in gates]
    has_oos = oos is not None and bool((gold == oos).any())
    candidates = list(zip(gates, scores, strict=True))
    if has_oos:
        candidates = [(g, s) for g, s in candidates if (s.oos_recall or 0.0) >= oos_recall]
        if not candidates:
            return max(scores, key=lambda s: (s.in_scope_accuracy or 0.0) + (s.oos_recall or 0.0))
    utility = np.array([_net_right(ranked, gold, oos, g, wrong_cost) for g, _ in candidates])
    return candidates[_middle_of_the_best(candidates, utility, len(gold))][1]


def _middle_of_the_best(
    candidates: list[tuple[TrustGate, GateScore]], utility: np.ndarray, examples: int
) -> int:
    """The index of the gate in the middle of those tied with the best (:data:`NEAR_TIE_SD`):
    the surface is flat, and the single best gate moved by up to 0.55 when a retrain added or
    removed three examples; the middle of the ties moves little. Nearest to their mean, then
    the least strict."""
    tied = max(1.0, NEAR_TIE_SD * math.sqrt(examples))
    near = np.flatnonzero(utility >= utility.max() - tied)
    points = np.array([[candidates[i][0].threshold, candidates[i][0].margin] for i in near])
    scale = np.array([THRESHOLDS[-1], MARGINS[-1]])
    distance = (((points - points.mean(0)) / scale) ** 2).sum(1)
    return int(near[np.lexsort((points[:, 1], points[:, 0], distance))[0]])


def _net_right(
    ranked: tuple[np.ndarray, np.ndarray, np.ndarray],
    gold: np.ndarray,
    oos: int | None,
    gate: TrustGate,
    wrong_cost: float,
) -> float:
    """Right answers minus ``wrong_cost`` times wrong ones; fallbacks count as neither."""
    top, p1, p2 = ranked
    answered = gate.clears(p1, p2)
    if oos is not None:
        answered &= top != oos
    right = int((answered & (top == gold)).sum())
    return right - wrong_cost * int((answered & (top != gold)).sum())
