"""Few-example intent experiments: top-1 in-scope accuracy of classifier variants on CLINC150.

Usage: .venv/bin/python bench/clinc150_few.py --variant few10 --try c=30,c=300,vectors:c=300

Each variant is fitted on a CLINC150 variant's train split (``few10`` as in bench/clinc150.py)
and scored by top-1 in-scope accuracy on its validation split, before any gate: the ceiling the
gate works under, and what issue 16's targets compare. Variants, comma-separated:

- ``c=C``: today's classifier (TF-IDF word 1-2-grams and character 2-5-grams, logistic
  regression) with inverse regularisation ``C`` (the shipped config has 30);
- ``augment=K``: ``K`` extra copies of each training text with 15 % of its words dropped;
- ``chars=LOW-HIGH``: character n-grams of those lengths instead of 2-5;
- ``prototype=W``: logits plus ``W`` times the cosine similarity to each intent's mean TF-IDF
  vector (both divided by their standard deviation);
- ``vectors=S``: the TF-IDF features plus ``S`` times an IDF-weighted mean of word vectors
  learned without labels from the chitchat-dataset messages (PPMI over a 4-word window,
  truncated SVD to 200 dimensions; about 30 CPU s, computed once per run).

Modifiers combine with ``:``, e.g. ``vectors=1:c=300``. Data: ../shared/data/clinc150.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import click
import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "bench"))

from clinc150 import VARIANTS, data_dir_option, load_variant  # noqa: E402

from nlu.features import Featurizer  # noqa: E402
from nlu.train import build_pipeline, normalize_all  # noqa: E402

WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Trial:
    """One classifier variant, parsed from ``name=value`` modifiers joined by ``:``."""

    c: float = 30.0
    augment: int = 0
    chars: tuple[int, int] = (2, 5)
    prototype: float = 0.0
    vectors: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Trial:
        """Read a spec such as ``vectors=1:c=300``."""
        fields: dict[str, object] = {}
        for part in spec.split(":"):
            name, _, value = part.partition("=")
            if name == "chars":
                low, high = value.split("-")
                fields[name] = (int(low), int(high))
            elif name == "augment":
                fields[name] = int(value)
            elif name in ("c", "prototype", "vectors"):
                fields[name] = float(value)
            else:
                raise click.BadParameter(f"unknown modifier {part!r} in {spec!r}")
        return cls(**fields)  # type: ignore[arg-type]


def dropped_words(texts: list[str], labels: list[str], copies: int, seed: int = 0):
    """The texts plus ``copies`` variants of each with 15 % of the words dropped."""
    rng = random.Random(seed)
    out_texts, out_labels = list(texts), list(labels)
    for text, label in zip(texts, labels, strict=True):
        words = text.split()
        for _ in range(copies):
            out_texts.append(" ".join([w for w in words if rng.random() > 0.15] or words))
            out_labels.append(label)
    return out_texts, out_labels


@cache
def chitchat_vectors(dim: int = 200, window: int = 4) -> tuple[dict[str, int], np.ndarray]:
    """Unit word vectors from PPMI (context smoothing 0.75) and SVD over chitchat messages."""
    from scipy.sparse.linalg import svds

    path = resources.files("chitchat_dataset").joinpath("dataset.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    sentences = [
        WORD.findall(m["text"].lower())
        for conv in raw.values()
        for group in conv["messages"]
        for m in group
    ]
    counts = Counter(w for s in sentences for w in s)
    vocab = {w: i for i, w in enumerate(w for w, c in counts.items() if c >= 3)}
    rows, cols = [], []
    for sentence in sentences:
        ids = [vocab[w] for w in sentence if w in vocab]
        for i, a in enumerate(ids):
            for b in ids[max(0, i - window) : i]:
                rows += [a, b]
                cols += [b, a]
    shape = (len(vocab), len(vocab))
    pairs = sp.coo_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape).tocsr()
    pairs = pairs.tocoo()  # duplicates summed
    total = pairs.data.sum()
    row_p = np.asarray(pairs.sum(1)).ravel() / total
    col_p = np.asarray(pairs.sum(0)).ravel() ** 0.75
    col_p /= col_p.sum()
    pmi = np.log(pairs.data / total / row_p[pairs.row] / col_p[pairs.col])
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (pairs.row[keep], pairs.col[keep])), shape=shape)
    u, s, _ = svds(ppmi, k=dim, random_state=0)
    vectors = u * np.sqrt(s)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-8
    return vocab, vectors.astype(np.float32)


def mean_vectors(texts: list[str], train_texts: list[str]) -> np.ndarray:
    """Unit IDF-weighted means of the chitchat vectors of each text's words (IDF from train)."""
    vocab, vectors = chitchat_vectors()
    df = Counter(w for t in train_texts for w in set(WORD.findall(t)))
    out = np.zeros((len(texts), vectors.shape[1]), np.float32)
    for row, text in enumerate(texts):
        words = [w for w in WORD.findall(text) if w in vocab]
        if words:
            idf = [math.log((1 + len(train_texts)) / (1 + df[w])) + 1 for w in words]
            v = np.asarray(idf, np.float32) @ vectors[[vocab[w] for w in words]]
            out[row] = v / (np.linalg.norm(v) + 1e-8)
    return out


def scores(trial: Trial, texts: list[str], labels: list[str], val: list[str]):
    """Class scores of the validation texts and the class order."""
    from sklearn.linear_model import LogisticRegression

    fit_texts, fit_labels = dropped_words(texts, labels, trial.augment)
    featurizer = Featurizer(2, *trial.chars).fit(fit_texts)
    train_m, val_m = featurizer.matrix(fit_texts), featurizer.matrix(val)
    if trial.vectors:
        train_m = sp.hstack([train_m, trial.vectors * mean_vectors(fit_texts, texts)]).tocsr()
        val_m = sp.hstack([val_m, trial.vectors * mean_vectors(val, texts)]).tocsr()
    model = LogisticRegression(C=trial.c, max_iter=300, random_state=0).fit(train_m, fit_labels)
    logits = model.decision_function(val_m)
    if trial.prototype:
        column = {c: i for i, c in enumerate(model.classes_)}
        own = [column[label] for label in fit_labels]
        member = sp.csr_matrix((np.ones(len(own)), (own, range(len(own)))))
        centroids = sp.csr_matrix(member @ featurizer.matrix(fit_texts))
        norms = np.sqrt(np.asarray(centroids.multiply(centroids).sum(1))).ravel()
        sims = np.asarray((featurizer.matrix(val) @ centroids.T).todense()) / norms
        logits = logits / logits.std() + trial.prototype * sims / sims.std()
    return logits, model.classes_


@click.command()
@click.option("--variant", type=click.Choice(VARIANTS), default="few10", show_default=True)
@click.option(
    "--try",
    "trials",
    default="c=30",
    show_default=True,
    help="Comma-separated: c=C, augment=K, chars=LOW-HIGH, prototype=W, vectors=S; join with :.",
)
@data_dir_option
def main(variant: str, trials: str, data_dir: Path) -> None:
    """Fit each variant, print its top-1 in-scope accuracy and CPU seconds as JSON lines."""
    if not data_dir.is_dir():
        raise click.BadParameter(f"{data_dir} does not exist", param_hint="--data-dir")
    specs = [s.strip() for s in trials.split(",") if s.strip()]
    parsed = [Trial.parse(s) for s in specs]  # bad specs fail before any work
    train_data, val_data = load_variant(variant, data_dir)
    nlp = build_pipeline()
    texts = normalize_all(nlp, [e.text for e in train_data.examples])
    labels = [e.intent for e in train_data.examples]
    val = normalize_all(nlp, [e.text for e in val_data.examples])
    gold = np.array([e.intent for e in val_data.examples])
    in_scope = gold != "oos"
    for spec, trial in zip(specs, parsed, strict=True):
        started = time.process_time()
        logits, classes = scores(trial, texts, labels, val)
        top1 = np.asarray(classes)[logits.argmax(1)]
        result = {
            "variant": variant,
            "try": spec,
            "top1_in_scope": round(float((top1[in_scope] == gold[in_scope]).mean()), 4),
            "cpu_seconds": round(time.process_time() - started, 1),
            "load_average_1min": round(os.getloadavg()[0], 1),
        }
        click.echo(json.dumps(result))


if __name__ == "__main__":
    main()
