"""Few-example intent experiments: top-1 in-scope accuracy of classifier variants on CLINC150.

Usage: .venv/bin/python bench/clinc150_few.py --variant few10 --try c=30,vectors=1:c=300:balanced=1

Each variant is fitted on a CLINC150 variant's train split (``few10`` as in bench/clinc150.py)
and scored by top-1 in-scope accuracy on its validation split, before any gate: the ceiling the
gate works under, and what issue 16's targets compare. Variants, comma-separated:

- ``c=C``: the n-gram classifier (TF-IDF word 1-2-grams and character 2-5-grams, logistic
  regression) with inverse regularisation ``C`` (30 until issue 16; ``nlu/config.cfg`` now
  has 100 with ``vectors=1`` and ``balanced=1``);
- ``augment=K``: ``K`` extra copies of each training text with 15 % of its words dropped;
- ``chars=LOW-HIGH``: character n-grams of those lengths instead of 2-5;
- ``prototype=W``: logits plus ``W`` times the cosine similarity to each intent's mean TF-IDF
  vector (both divided by their standard deviation);
- ``vectors=S``: the TF-IDF features plus ``S`` times each text's IDF-weighted mean word
  vector (``nlu.features.MeanWordVectors``) from the shipped chitchat table
  (``nlu/chitchat_vectors.npz``, see ``nlu.wordvectors``), or from ``table=PATH``, a table
  written by ``threadbot nlu vectors --out PATH``;
- ``balanced=1``: weigh each intent's examples inversely to their number (``few10``'s
  out-of-scope class has ten times the examples of an intent).

Modifiers combine with ``:``, e.g. ``vectors=1:c=300``. Data: ../shared/data/clinc150.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere
sys.path.insert(0, str(ROOT / "bench"))

from clinc150 import VARIANTS, data_dir_option, load_variant  # noqa: E402

from nlu.features import Featurizer, MeanWordVectors  # noqa: E402
from nlu.train import build_pipeline, normalize_all  # noqa: E402
from nlu.wordvectors import CHITCHAT, WordVectors, resolve  # noqa: E402


@dataclass(frozen=True)
class Trial:
    """One classifier variant, parsed from ``name=value`` modifiers joined by ``:``."""

    c: float = 30.0
    augment: int = 0
    chars: tuple[int, int] = (2, 5)
    prototype: float = 0.0
    vectors: float = 0.0
    table: str = CHITCHAT
    balanced: bool = False

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
            elif name == "balanced":
                fields[name] = value != "0"
            elif name == "table":
                fields[name] = value
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
def vector_table(name: str) -> WordVectors:
    """A word vector table, read once per run."""
    return WordVectors.load(resolve(name))


def scores(trial: Trial, texts: list[str], labels: list[str], val: list[str]):
    """Class scores of the validation texts and the class order."""
    from sklearn.linear_model import LogisticRegression

    fit_texts, fit_labels = dropped_words(texts, labels, trial.augment)
    featurizer = Featurizer(2, *trial.chars).fit(fit_texts)
    train_m, val_m = featurizer.matrix(fit_texts), featurizer.matrix(val)
    if trial.vectors:
        dense = MeanWordVectors(vector_table(trial.table), trial.vectors).fit(fit_texts)
        train_m = sp.hstack([train_m, dense.matrix(fit_texts)], format="csr")
        val_m = sp.hstack([val_m, dense.matrix(val)], format="csr")
    weights = "balanced" if trial.balanced else None
    model = LogisticRegression(C=trial.c, max_iter=300, random_state=0, class_weight=weights)
    model.fit(train_m, fit_labels)
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
    help="Comma-separated: c=C, augment=K, chars=LOW-HIGH, prototype=W, vectors=S, "
    "table=PATH, balanced=1; join with :.",
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
