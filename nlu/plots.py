"""PNG plots for ``nlu test``: confusion matrix (or top confusions) and confidence histogram."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers or in CI

import matplotlib.pyplot as plt
import numpy as np

from nlu.evaluate import Outcome, confusions

FULL_MATRIX_MAX = 30  # beyond this many intents a matrix is unreadable; plot the top pairs
TOP_CONFUSIONS = 30


def confusion_png(outcomes: Sequence[Outcome], path: Path) -> Path:
    """Draw a confusion matrix, or a bar chart of the top confusions for many intents."""
    labels = sorted({o.gold for o in outcomes} | {o.predicted for o in outcomes})
    if len(labels) <= FULL_MATRIX_MAX:
        index = {label: i for i, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=int)
        for o in outcomes:
            matrix[index[o.gold], index[o.predicted]] += 1
        return matrix_png(
            matrix, labels, "predicted (untrusted counts as out_of_scope)", "Confusion matrix", path
        )
    pairs = confusions(outcomes).most_common(TOP_CONFUSIONS)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.3 * len(pairs) + 1)))
    names = [f"{g} -> {p}" for (g, p), _ in pairs][::-1]
    ax.barh(names, [c for _, c in pairs][::-1], color="tab:red")
    ax.set_xlabel("count")
    ax.set_title(f"Top {len(pairs)} confusions (gold -> predicted) of {len(labels)} intents")
    return _save(fig, path)


def matrix_png(
    matrix: np.ndarray, labels: Sequence[str], xlabel: str, title: str, path: Path
) -> Path:
    """A confusion matrix (rows gold, columns predicted) with its counts written in."""
    size = max(5.0, 0.4 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("gold")
    ax.set_title(title)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confidence_png(outcomes: Sequence[Outcome], threshold: float | None, path: Path) -> Path:
    """Histogram of top-intent confidence, split by whether the top intent was right."""
    right = [o.parse.confidence for o in outcomes if o.parse.intent == _gold_name(o)]
    wrong = [o.parse.confidence for o in outcomes if o.parse.intent != _gold_name(o)]
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = np.linspace(0, 1, 21)
    ax.hist(
        [right, wrong],
        bins=bins,
        label=["top intent right", "top intent wrong"],
        color=["tab:green", "tab:red"],
        stacked=True,
    )
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("confidence of the top intent")
    ax.set_ylabel("examples")
    ax.legend()
    ax.set_title("Confidence histogram")
    return _save(fig, path)


def _gold_name(outcome: Outcome) -> str:
    """The gold intent as the model names it (any out-of-scope name matches the model's)."""
    top = outcome.parse.intent or ""
    if outcome.gold == "out_of_scope" and top in ("oos", "out_of_scope"):
        return top
    return outcome.gold
