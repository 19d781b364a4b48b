"""Text features: sparse TF-IDF word and character n-grams, and dense mean word vectors."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nlu.wordvectors import WordVectors, is_word


def word_ngrams(text: str, n: int) -> list[str]:
    """Word n-grams of length 1..n, prefixed so they never collide with character n-grams."""
    words = text.split()
    grams = []
    for size in range(1, n + 1):
        grams.extend("w:" + " ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return grams


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams inside space-padded words; they match misspellings and word forms."""
    grams = []
    for word in text.split():
        padded = f" {word} "
        for size in range(low, high + 1):
            if size > len(padded):
                # A short word counts once, whole, rather than not at all.
                grams.append("c:" + padded)
                break
            grams.extend("c:" + padded[i : i + size] for i in range(len(padded) - size + 1))
    return grams


@dataclass
class Featurizer:
    """Maps text to L2-normalised sublinear TF-IDF vectors over a vocabulary fixed at fit."""

    word_n: int = 2
    char_low: int = 2
    char_high: int = 5
    min_df: int = 1
    vocab: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def grams(self, text: str) -> list[str]:
        """All n-grams of one normalised text."""
        chars = char_ngrams(text, self.char_low, self.char_high) if self.char_high else []
        return word_ngrams(text, self.word_n) + chars

    def fit(self, texts: Sequence[str]) -> Featurizer:
        """Build the vocabulary and inverse document frequencies from training texts."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(self.grams(text)))
        kept = sorted(g for g, c in df.items() if c >= self.min_df)
        self.vocab = {g: i for i, g in enumerate(kept)}
        n = len(texts)
        # Smoothed idf, as if one extra document held every n-gram: no division by zero.
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in kept], dtype=np.float32)
        return self

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (feature indices, weights) of one text, unit length."""
        counts = Counter(i for g in self.grams(text) if (i := self.vocab.get(g)) is not None)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        weights = (1.0 + np.log(tf)) * self.idf[idx]
        return idx, weights / np.linalg.norm(weights)

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Stack the vectors of many texts into a CSR matrix for training."""
        rows = [self.vector(t) for t in texts]
        indptr = np.cumsum([0] + [len(i) for i, _ in rows])
        indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        data = np.concatenate([w for _, w in rows]) if rows else np.zeros(0, dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), len(self.vocab)))

    def settings(self) -> dict[str, int]:
        """The options that rebuild an equal featurizer, for saving next to the vocabulary."""
        return {
            "word_n": self.word_n,
            "char_low": self.char_low,
            "char_high": self.char_high,
            "min_df": self.min_df,
        }


@dataclass
class MeanWordVectors:
    """Dense features: each text's IDF-weighted mean word vector, unit length, times ``scale``.

    The vectors come from unlabelled text (``nlu.wordvectors``), so a word no training example
    used still lands near the words it is used like. IDF weights come from the training texts;
    a word they never saw gets the largest weight, as an n-gram seen once would.
    """

    table: WordVectors
    scale: float = 1.0
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def size(self) -> int:
        """Number of features."""
        return self.table.dim

    def fit(self, texts: Sequence[str]) -> MeanWordVectors:
        """Set each table word's IDF from the training texts."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(text.split()))
        n = len(texts)
        counts = np.array([df.get(w, 0) for w in self.table.words], dtype=np.float32)
        self.idf = (np.log((1 + n) / (1 + counts)) + 1).astype(np.float32)
        return self

    @property
    def unseen_idf(self) -> float:
        """The IDF of a word no training text used: the weight a word without a vector gets."""
        return float(self.idf.max()) if len(self.idf) else 1.0

    def vector(self, text: str) -> np.ndarray:
        """The feature vector of one normalised text (zeros when no word has a vector).

        Its length is the share of the text's IDF weight that the table covers: in "what are
        embeddings" only the function words have vectors, and a unit vector of them alone
        would speak for the whole question; shortened, it leaves the n-grams to decide.
        """
        words = [w for w in text.split() if is_word(w)]
        rows = [i for w in words if (i := self.table.index.get(w)) is not None]
        if not rows:
            return np.zeros(self.size, dtype=np.float32)
        weights = self.idf[rows]
        unknown = (len(words) - len(rows)) * self.unseen_idf
        mean = weights @ self.table.vectors[rows]
        coverage = weights.sum() / (weights.sum() + unknown)
        return mean * (self.scale * coverage / (np.linalg.norm(mean) or 1.0))

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Stack the vectors of many texts, shape (texts, size)."""
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.vector(text)
        return out
