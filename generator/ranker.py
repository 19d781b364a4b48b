"""The learned ranker that picks the fallback's reply among retrieved, grounded and generated
candidates, and the response-selection figures it is judged by (Hits@1/N, MRR).

Every candidate, whatever its source, is described by the same features of (context, reply):

- ``logp``: the LSTM's log p(reply | context) per token, its main evidence of fit;
- ``anti_lm``: log p(reply | no context) per token, the term MMI re-ranking subtracts;
- ``tokens``: the reply's length (sums of log-probabilities were tried as well: they reward
  long rambling replies, which are unlikely anywhere, as MMI with a full weight does);
- ``specificity``: mean IDF of the reply's words over the index (rare words say something);
- ``overlap``: TF-IDF cosine between the message and the reply (they share what it is about);
- ``semantic``: cosine of the IDF-weighted mean word vectors of message and reply (the NLU's
  chitchat vectors: "puppy" and "dog" are near though they share no word);
- ``stock``: the reply holds one of the published empty stock phrases;
- ``question``: it asks something back;
- ``generated``: the candidate is the LSTM's own. The human reply and the retrieved replies are
  all human, so this flag is no tell of the true reply; without it the ranker learned "the
  LSTM finds it likely" as "not human" and favoured whatever the LSTM found least likely
  (typos, rambling). With it, likelihood can count as fit again.

No other feature says where a candidate came from: a flag that the human reply lacks (as
"retrieved" would be) would let the ranker find the true reply by that instead of by its fit.

The model is linear over standardised features, trained listwise: each training message's
candidates form one softmax, and the loss is the negative log-probability of the human reply
(ListNet with one relevant item). Its weights are a few numbers in a JSON file beside the model,
so a person can read what it learned, and a turn can show which features decided.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from generator.errors import GeneratorError
from generator.evaluate import has_stock_phrase
from generator.index import ReplyIndex
from generator.words import content_words, weighted_cosine, words
from nlu.wordvectors import SHIPPED, WordVectors

FORMAT = "threadbot-ranker/1"
FEATURES = (
    "logp",
    "anti_lm",
    "tokens",
    "specificity",
    "overlap",
    "semantic",
    "stock",
    "question",
    "generated",
)

FLAGS = frozenset({"stock", "question", "generated"})  # yes/no features


class RankerError(GeneratorError):
    """The ranker file is missing fields or was written for other features."""


@dataclass(frozen=True)
class Scores:
    """The LSTM's teacher-forced figures for one candidate."""

    logp: float  # summed log p(reply + <eos> | context)
    anti_lm: float  # summed log p(reply + <eos> | topic token only)
    tokens: int  # reply tokens + <eos>


class Featurizer:
    """Computes :data:`FEATURES` with the index's word statistics and the word vectors."""

    def __init__(self, index: ReplyIndex, vectors: WordVectors | None = None) -> None:
        self.index = index
        self.vectors = vectors or WordVectors.load(SHIPPED)
        # The message is compared with every candidate, and popular replies come back turn
        # after turn: their vectors are worth keeping (a few MB at most).
        self._mean_vector = lru_cache(maxsize=16384)(self._weighted_mean_vector)

    def overlap(self, a: str, b: str) -> float:
        """TF-IDF cosine of ``a`` and ``b`` (0 when they share no word)."""
        return weighted_cosine(words(a), words(b), self.index.idf)

    def _weighted_mean_vector(self, text: str) -> np.ndarray | None:
        rows, weights = [], []
        for w in content_words(text):
            row = self.vectors.index.get(w)
            if row is not None:
                rows.append(row)
                weights.append(self.index.idf(w))
        if not rows:
            return None
        return np.average(self.vectors.vectors[rows], axis=0, weights=weights)

    def semantic(self, a: str, b: str) -> float:
        """Cosine of the IDF-weighted mean word vectors of ``a`` and ``b`` (0 if either has
        no known content word)."""
        va, vb = self._mean_vector(a), self._mean_vector(b)
        if va is None or vb is None:
            return 0.0
        norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
        return float(va @ vb) / norm if norm else 0.0

    def row(self, message: str, reply: str, scores: Scores, kind: str) -> list[float]:
        """The :data:`FEATURES` of ``reply`` (a candidate of source ``kind``) as an answer to
        ``message``."""
        n = max(1, scores.tokens)
        return [
            scores.logp / n,
            scores.anti_lm / n,
            float(n),
            self.index.specificity(reply),
            self.overlap(message, reply),
            self.semantic(message, reply),
            float(has_stock_phrase(reply)),
            float(reply.rstrip().endswith("?")),
            float(kind == "generated"),
        ]


@dataclass(frozen=True)
class Ranker:
    """A linear scorer over standardised :data:`FEATURES`; higher scores rank first."""

    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    trained_on: dict[str, object]

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """One score per feature row."""
        return [sum(c for c in self.contributions(row)) for row in rows]

    def contributions(self, row: Sequence[float]) -> list[float]:
        """Each feature's share of the score of ``row`` (what a turn shows as its reasons)."""
        return [
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, row, self.mean, self.scale, strict=True)
        ]

    def named_weights(self) -> dict[str, float]:
        """Each feature's weight (per standard deviation of the feature)."""
        return dict(zip(FEATURES, self.weights, strict=True))

    def top_features(self, row: Sequence[float], n: int = 3) -> dict[str, float]:
        """The ``n`` features that moved this candidate's score most against the average
        candidate, signed; a yes/no feature that is absent reads "not <name>"."""
        named = [
            (f"not {name}" if name in FLAGS and not x else name, part)
            for name, x, part in zip(FEATURES, row, self.contributions(row), strict=True)
        ]
        named.sort(key=lambda p: -abs(p[1]))
        return {name: round(value, 3) for name, value in named[:n]}

    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT,
            "features": list(FEATURES),
            "weights": list(self.weights),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "trained_on": self.trained_on,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Ranker:
        """Read a ranker written by :meth:`save`; :class:`RankerError` names what is wrong."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise RankerError(f"{path}: not a readable ranker file (not a JSON object)")
            if data.get("format") != FORMAT or tuple(data["features"]) != FEATURES:
                raise RankerError(
                    f"{path}: written for other features ({data.get('format')}); rebuild it "
                    "with `threadbot generator index --model DIR`"
                )
            ranker = cls(
                tuple(map(float, data["weights"])),
                tuple(map(float, data["mean"])),
                tuple(map(float, data["scale"])),
                dict(data.get("trained_on", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RankerError(f"{path}: not a readable ranker file ({exc})") from exc
        if not len(ranker.weights) == len(ranker.mean) == len(ranker.scale) == len(FEATURES):
            raise RankerError(f"{path}: expected {len(FEATURES)} weights, means and scales")
        return ranker


def fit(
    groups: Sequence[Sequence[Sequence[float]]],
    *,
    l2: float = 1e-3,
    trained_on: dict[str, object] | None = None,
) -> Ranker:
    """Train a :class:`Ranker` on ``groups``: each group's rows are one message's candidates,
    the human reply first. Deterministic (full-batch L-BFGS from zero weights)."""
    groups = [g for g in groups if len(g) > 1]
    if not groups:
        raise ValueError("no training groups with at least one negative candidate")
    flat = torch.tensor([row for g in groups for row in g], dtype=torch.float64)
    mean = flat.mean(0)
    scale = flat.std(0).clamp_min(1e-6)
    width = max(len(g) for g in groups)
    x = torch.zeros(len(groups), width, len(FEATURES), dtype=torch.float64)
    mask = torch.ones(len(groups), width, dtype=torch.bool)
    for i, g in enumerate(groups):
        x[i, : len(g)] = (torch.tensor(g, dtype=torch.float64) - mean) / scale
        mask[i, : len(g)] = False
    w = torch.zeros(len(FEATURES), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")

    def loss_fn() -> torch.Tensor:
        opt.zero_grad()
        logits = (x @ w).masked_fill(mask, float("-inf"))
        loss = -logits.log_softmax(1)[:, 0].mean() + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(loss_fn)
    return Ranker(
        tuple(w.detach().tolist()),
        tuple(mean.tolist()),
        tuple(scale.tolist()),
        {"groups": len(groups), **(trained_on or {})},
    )


def selection_metrics(groups_scores: Sequence[Sequence[float]]) -> dict[str, float]:
    """Hits@1 and MRR when each group's first score belongs to the true reply (ties count
    against it: a scorer that cannot tell them apart has not found it)."""
    hits = rr = 0.0
    for scores in groups_scores:
        rank = 1 + sum(s >= scores[0] for s in scores[1:])
        hits += rank == 1
        rr += 1 / rank
    n = max(1, len(groups_scores))
    return {"hits_at_1": hits / n, "mrr": rr / n}
