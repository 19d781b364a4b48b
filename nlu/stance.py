"""Stance toward the bot's topic: the classifier pipe, its training and its scores.

The same linear model as the intents (TF-IDF n-grams and mean word vectors, logistic
regression, temperature calibration), fitted on the bot's stance file. Its trust gate is
chosen as the intents' is, with ``none`` in the out-of-scope role: a message is said to take
a side only where the calibrated top side clears the gate, else the stance is unsure, which
whatever acts on stance reads as no side taken (docs/nlu.md, "Stance").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from nlu.calibrate import choose_gate, fit_temperature
from nlu.classifier import LinearIntentModel, softmax
from nlu.components import linear_model
from nlu.evaluate import label_scores
from nlu.features import Featurizer
from nlu.folds import out_of_fold_logits
from nlu.normalize import normalized_text
from nlu.stance_data import SIDES, STANCES, StanceData, StanceExample
from nlu.trust import TrustGate
from nlu.types import Stance

PIPE = "stance_classifier"
FOLDS = 5
# What acting on the wrong side costs, counted in sides rightly acted on: a skeptic told
# "agreed, it's great" reads worse than a reply that takes no side, so a side is acted on
# only where it is right at least two times in three (on Ada's data: 44 % of messages,
# 77 % of them right, out of fold; docs/benchmarks.md, "Stance").
WRONG_SIDE_COST = 2.0
GATE_FILE = "gate.json"

if not Doc.has_extension("stance"):
    Doc.set_extension("stance", default=None)


def takes_side(label: str, probs: np.ndarray, gate: TrustGate) -> bool:
    """Whether a message whose top stance is ``label`` is sure to take it: a side, cleared
    by the gate."""
    return label != "none" and gate.trusts(probs.tolist())


class StanceClassifier:
    """Sets ``doc._.stance`` to a :class:`Stance` (None until trained)."""

    def __init__(self, name: str, model: LinearIntentModel) -> None:
        self.name = name
        self.model = model
        self.gate = TrustGate(0.5, 0.0)  # replaced by the one training chooses

    def __call__(self, doc: Doc) -> Doc:
        """Classify one doc (the text the intent classifier reads)."""
        if self.model.is_trained:
            probs = self.model.probabilities(self.model.logits(normalized_text(doc)))
            doc._.stance = self._stance(probs)
        return doc

    def _stance(self, probs: np.ndarray) -> Stance:
        top = int(probs.argmax())
        label = self.model.labels[top]
        return Stance(label, float(probs[top]), takes_side(label, probs, self.gate))

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the trained model's arrays and vocabulary, and its gate beside them."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.model.is_trained:
            self.model.to_disk(path)
            (path / GATE_FILE).write_text(json.dumps(asdict(self.gate)), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> StanceClassifier:
        """Load what ``to_disk`` saved (nothing, for a pipe that was never trained)."""
        path = Path(path)
        if (path / GATE_FILE).exists():
            self.model.from_disk(path)
            self.gate = TrustGate(**json.loads((path / GATE_FILE).read_text(encoding="utf-8")))
        return self


@Language.factory(
    PIPE,
    default_config={
        "word_ngrams": 2,
        "char_low": 2,
        "char_high": 5,
        # Chosen by 5-fold cross-validation on Ada's 1,422 examples (docs/benchmarks.md,
        # "Stance"): n-grams alone beat n-grams with the word vectors (macro-F1 0.722 vs
        # 0.714), and C = 1 the other values tried (0.731; 3 and 10: 0.722).
        "c": 1.0,
        "word_vectors": "",
    },
)
def make_stance_classifier(
    nlp: Language,
    name: str,
    word_ngrams: int,
    char_low: int,
    char_high: int,
    c: float,
    word_vectors: str,
) -> StanceClassifier:
    """Build an untrained stance classifier; ``fit_stance`` fits it and chooses its gate.

    Classes are balanced, as the intents' are; ``word_vectors`` as the intent classifier's.
    """
    featurizer = Featurizer(word_ngrams, char_low, char_high)
    return StanceClassifier(
        name, linear_model(featurizer, c, word_vectors=word_vectors, balanced=True)
    )


def fit_stance(nlp: Language, data: StanceData, texts: Sequence[str], seed: int) -> dict[str, Any]:
    """Fit the pipeline's stance classifier on ``data`` (``texts``: its messages as the
    classifier reads them), calibrated and gated on out-of-fold predictions; return the
    out-of-fold scores, the figures a stance model is known by before any test set."""
    if PIPE not in nlp.pipe_names:
        nlp.add_pipe(PIPE, last=True)
    pipe: StanceClassifier = nlp.get_pipe(PIPE)
    labels = [e.stance for e in data.examples]
    names, logits = out_of_fold_logits(pipe.model, texts, labels, FOLDS, seed)
    gold = np.array([names.index(label) for label in labels])
    temperature = fit_temperature(logits, gold)
    probs = softmax(logits / temperature)
    gate = choose_gate(probs, gold, names.index("none"), wrong_cost=WRONG_SIDE_COST).gate
    pipe.model.fit(list(texts), labels, seed=seed)
    pipe.model.temperature, pipe.gate = temperature, gate
    predicted = [names[i] for i in probs.argmax(1)]
    sure = [takes_side(p, row, gate) for p, row in zip(predicted, probs, strict=True)]
    return {
        "source": data.source,
        "topic": data.topic,
        "examples": data.counts(),
        "temperature": temperature,
        "gate": asdict(gate),
        "cross_validation": stance_scores(labels, predicted, sure),
    }


def stance_scores(
    gold: Sequence[str], predicted: Sequence[str], sure: Sequence[bool] | None = None
) -> dict[str, Any]:
    """Per-side precision, recall and F1, macro-F1 over the three labels, SemEval-2016's F_avg
    (the mean F1 of favor and against), accuracy and the confusion table (gold -> predicted);
    with ``sure``, the share of messages given a side with confidence and how often right."""
    per = label_scores(gold, predicted, STANCES)
    n = len(gold)
    out: dict[str, Any] = {
        "messages": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(n, 1), 4),
        "macro_f1": round(float(np.mean([per[s]["f1"] for s in STANCES])), 4),
        "f_avg": round(float(np.mean([per[s]["f1"] for s in SIDES])), 4),
        "per_stance": per,
        "confusion": {
            g: {
                p: sum(a == g and b == p for a, b in zip(gold, predicted, strict=True))
                for p in STANCES
            }
            for g in STANCES
        },
    }
    if sure is not None:
        taken = [i for i, s in enumerate(sure) if s]
        out["sure_share"] = round(len(taken) / max(n, 1), 4)
        out["sure_precision"] = (
            round(sum(gold[i] == predicted[i] for i in taken) / len(taken), 4) if taken else None
        )
    return out


def stance_report(
    examples: Sequence[StanceExample], stances: Sequence[Stance | None]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Scores of a model's stances on labelled ``examples``, and the messages it got wrong.

    A model without a stance classifier (None) is an error the caller reports, not a zero."""
    if any(s is None for s in stances):
        raise ValueError("the model has no stance classifier: train it with stance data")
    got = [s for s in stances if s is not None]
    gold = [e.stance for e in examples]
    scores = stance_scores(gold, [s.label for s in got], [s.sure for s in got])
    wrong = [
        {"text": e.text, "gold": e.stance, **s.as_json()}
        for e, s in zip(examples, got, strict=True)
        if s.label != e.stance
    ]
    return scores, wrong


def confusion_table(scores: dict[str, Any]) -> list[str]:
    """The confusion table as aligned text lines (rows gold, columns predicted)."""
    width = max(map(len, STANCES)) + 2
    lines = ["gold \\ predicted".ljust(18) + "".join(s.rjust(width) for s in STANCES)]
    for g in STANCES:
        row = scores["confusion"][g]
        lines.append(g.ljust(18) + "".join(str(row[p]).rjust(width) for p in STANCES))
    return lines
