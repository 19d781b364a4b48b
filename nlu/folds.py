"""Stratified k-fold assignment, and the out-of-fold predictions that calibrate a classifier
(the intents' and the stance's alike) and cross-validation."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from nlu.classifier import LinearIntentModel


def stratified_folds(labels: list[str], k: int, seed: int) -> list[int]:
    """Assign each example a fold in 0..k-1, dealing each label's examples round-robin."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    fold_of = [0] * len(labels)
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        start = rng.randrange(k)  # so small classes do not all crowd into fold 0
        for j, i in enumerate(items):
            fold_of[i] = (start + j) % k
    return fold_of


def out_of_fold_logits(
    template: LinearIntentModel, texts: Sequence[str], labels: Sequence[str], k: int, seed: int
) -> tuple[list[str], np.ndarray]:
    """Every text's logits from an untrained copy of ``template`` fitted on the other folds:
    the label names (sorted) and (texts, labels) logits, a very low score where a fold's
    model never saw a label."""
    names = sorted(set(labels))
    column = {label: i for i, label in enumerate(names)}
    fold_of = stratified_folds(list(labels), k, seed)
    logits = np.full((len(texts), len(names)), -1e4, dtype=np.float32)
    for fold in range(k):
        test = [i for i, f in enumerate(fold_of) if f == fold]
        fit = [i for i, f in enumerate(fold_of) if f != fold]
        if not test or len({labels[i] for i in fit}) < 2:
            continue
        model = template.untrained_copy()
        model.fit([texts[i] for i in fit], [labels[i] for i in fit], seed=seed)
        cols = [column[label] for label in model.labels]
        logits[np.ix_(test, cols)] = model.logits_many([texts[i] for i in test])
    return names, logits
