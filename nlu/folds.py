"""Stratified k-fold assignment, for out-of-fold predictions and cross-validation."""

from __future__ import annotations

import random
from collections import defaultdict


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
