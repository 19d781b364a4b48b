"""A linear softmax intent classifier over TF-IDF n-grams (and optionally mean word vectors),
with temperature calibration."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nlu.features import Featurizer, MeanWordVectors
from nlu.wordvectors import WordVectors

VECTORS_FILE = "word_vectors.npz"  # the model's own copy, so it loads without the source table


class LinearIntentModel:
    """Multinomial logistic regression; inference is a numpy gather, so ``parse`` stays fast."""

    def __init__(
        self,
        featurizer: Featurizer | None = None,
        c: float = 30.0,
        max_iter: int = 300,
        dense: MeanWordVectors | None = None,
        balanced: bool = False,
        vectors: tuple[Path, float] | None = None,
    ):
        self.featurizer = featurizer or Featurizer()
        self.dense = dense
        # A table file and scale for the dense block, read when training first needs them: a
        # pipeline restored from disk brings its own copy, so building it must not read this.
        self.vectors = vectors
        self.c = c
        self.max_iter = max_iter
        # Weigh each intent's examples inversely to their number, so a big out-of-scope class
        # does not pull the many-times-smaller intents' queries to itself.
        self.balanced = balanced
        self.labels: list[str] = []
        self.weights = np.zeros((0, 0), dtype=np.float32)  # (features, classes)
        self.bias = np.zeros(0, dtype=np.float32)  # (classes,)
        self.temperature = 1.0

    @property
    def is_trained(self) -> bool:
        """True once ``fit`` or ``from_disk`` has given the model its weights."""
        return bool(self.labels)

    def fit(self, texts: Sequence[str], labels: Sequence[str], seed: int = 0) -> LinearIntentModel:
        """Learn the vocabulary and weights from normalised texts and their intents."""
        # Imported here: training needs scikit-learn, loading a model for parsing does not.
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("training needs at least two intents")
        matrix = self.featurizer.fit(texts).matrix(texts)
        dense = self._dense_for_training()
        if dense is not None:
            matrix = sp.hstack([matrix, dense.fit(texts).matrix(texts)], format="csr")
        model = LogisticRegression(
            C=self.c,
            max_iter=self.max_iter,
            random_state=seed,
            class_weight="balanced" if self.balanced else None,
        )
        model.fit(matrix, list(labels))
        self.labels = [str(label) for label in model.classes_]
        self.weights = np.ascontiguousarray(model.coef_.T, dtype=np.float32)
        self.bias = model.intercept_.astype(np.float32)
        if len(self.labels) == 2:
            # Binary LogisticRegression keeps one column; softmax over (-z/2, z/2) is the same.
            self.weights = np.hstack([-self.weights / 2, self.weights / 2])
            self.bias = np.array([-self.bias[0] / 2, self.bias[0] / 2], dtype=np.float32)
        self.temperature = 1.0
        return self

    def logits(self, text: str) -> np.ndarray:
        """Uncalibrated class scores of one normalised text, shape (classes,)."""
        idx, weights = self.featurizer.vector(text)
        scores = weights @ self.weights[idx] + self.bias
        if self.dense is not None:
            scores += self.dense.vector(text) @ self.weights[len(self.featurizer.vocab) :]
        return scores

    def logits_many(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated class scores of many texts, shape (texts, classes)."""
        n_sparse = len(self.featurizer.vocab)
        scores = np.asarray(self.featurizer.matrix(texts) @ self.weights[:n_sparse]) + self.bias
        if self.dense is not None:
            scores += self.dense.matrix(texts) @ self.weights[n_sparse:]
        return scores

    def settings(self) -> dict[str, object]:
        """The options that rebuild an untrained copy of this model (for k-fold fits)."""
        return {"c": self.c, "max_iter": self.max_iter, "balanced": self.balanced}

    def _dense_for_training(self) -> MeanWordVectors | None:
        """The dense block, its table read from ``vectors`` the first time it is needed."""
        if self.dense is None and self.vectors is not None:
            path, scale = self.vectors
            self.dense = MeanWordVectors(WordVectors.load(path), scale)
        return self.dense

    def untrained_copy(self) -> LinearIntentModel:
        """A model with the same options and word vector table, not yet fitted."""
        dense = None
        if (source := self._dense_for_training()) is not None:
            dense = MeanWordVectors(source.table, source.scale)
        return LinearIntentModel(
            Featurizer(**self.featurizer.settings()), dense=dense, **self.settings()
        )  # type: ignore[arg-type]

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (last axis is the class axis)."""
        return softmax(logits / self.temperature)

    def to_disk(self, path: Path) -> None:
        """Write weights as .npy (no pickle) and the vocabulary and labels as JSON."""
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "weights.npy", self.weights)
        np.save(path / "bias.npy", self.bias)
        np.save(path / "idf.npy", self.featurizer.idf)
        vocab = sorted(self.featurizer.vocab, key=self.featurizer.vocab.__getitem__)
        meta = {
            "labels": self.labels,
            "temperature": self.temperature,
            **self.settings(),
            "featurizer": self.featurizer.settings(),
        }
        if self.dense is not None:
            self.dense.table.save(path / VECTORS_FILE)
            np.save(path / "word_idf.npy", self.dense.idf)
            meta["word_vectors"] = {"scale": self.dense.scale}
        (path / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    def from_disk(self, path: Path) -> LinearIntentModel:
        """Read what ``to_disk`` wrote."""
        meta = json.loads((path / "model.json").read_text(encoding="utf-8"))
        vocab = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        self.featurizer = Featurizer(**meta["featurizer"])
        self.featurizer.vocab = {gram: i for i, gram in enumerate(vocab)}
        self.featurizer.idf = np.load(path / "idf.npy")
        self.weights = np.load(path / "weights.npy")
        self.bias = np.load(path / "bias.npy")
        self.labels = list(meta["labels"])
        self.temperature = float(meta["temperature"])
        self.c = float(meta["c"])
        self.max_iter = int(meta["max_iter"])
        self.balanced = bool(meta.get("balanced", False))  # models saved before the option
        self.dense, self.vectors = None, None  # the saved model's own copy, if any, rules
        if "word_vectors" in meta:
            table = WordVectors.load(path / VECTORS_FILE)
            self.dense = MeanWordVectors(table, float(meta["word_vectors"]["scale"]))
            self.dense.idf = np.load(path / "word_idf.npy")
        return self


def softmax(z: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)
