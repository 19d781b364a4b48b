"""Word vectors learned without labels from the chitchat-dataset messages (PPMI and SVD).

The chitchat-dataset package (BYU PCC lab, MIT licence, a threadbot dependency) holds 258,145
chat messages. Each is tokenised and normalised exactly as the intent classifier reads text;
words seen at least ``min_count`` times count how often they fall within ``window`` words of
each other; positive pointwise mutual information (context counts raised to ``smoothing``,
which keeps rare contexts from dominating) is factorised by a truncated SVD, and each word's
row of ``U * sqrt(S)``, unit length, is its vector. Words used in the same contexts ("money",
"pay", "invest") get similar vectors, which is what a few labelled examples cannot teach.

``threadbot nlu vectors`` rebuilds the shipped table (``nlu/chitchat_vectors.npz``); the
build is deterministic (fixed SVD start vector, signs fixed by each column's largest entry).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.sparse as sp

SHIPPED = Path(__file__).with_name("chitchat_vectors.npz")
CHITCHAT = "chitchat"  # names the shipped table in config files
_HAS_ALNUM = re.compile(r"[a-z0-9]")


def is_word(token: str) -> bool:
    """A normalised token with a letter or digit: punctuation gets no vector and no weight."""
    return _HAS_ALNUM.search(token) is not None


@dataclass(frozen=True)
class VectorSettings:
    """How a table is built; saved inside it so a rebuild can be checked against it."""

    dim: int = 100
    window: int = 4
    min_count: int = 3
    smoothing: float = 0.75


@dataclass
class WordVectors:
    """A word list and one unit-length row per word."""

    words: list[str]
    vectors: np.ndarray  # (words, dim), float32 in memory
    settings: VectorSettings

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}

    @property
    def dim(self) -> int:
        """Length of each vector."""
        return int(self.vectors.shape[1])

    def nearest(self, word: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` words most similar to ``word`` by cosine, best first (empty if unknown)."""
        row = self.index.get(word)
        if row is None:
            return []
        sims = self.vectors @ self.vectors[row]
        sims[row] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.words[i], float(sims[i])) for i in top]

    def save(self, path: Path) -> Path:
        """Write an ``.npz`` (float16 vectors, no pickle): 2 bytes per number."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            # UTF-8 bytes, one word a line: numpy's str arrays pad every word to the longest.
            words=np.frombuffer("\n".join(self.words).encode("utf-8"), dtype=np.uint8),
            vectors=self.vectors.astype(np.float16),
            settings=np.array(json.dumps(asdict(self.settings))),
        )
        return path

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        """Read what ``save`` wrote."""
        with np.load(Path(path), allow_pickle=False) as z:
            settings = VectorSettings(**json.loads(str(z["settings"])))
            words = z["words"].tobytes().decode("utf-8").split("\n")
            return cls(words, z["vectors"].astype(np.float32), settings)


def resolve(name: str) -> Path:
    """The file a config's ``word_vectors`` value names: ``chitchat`` or a path."""
    return SHIPPED if name == CHITCHAT else Path(name)


def chitchat_messages() -> list[str]:
    """Every message of the chitchat-dataset package, in the file's order."""
    raw = resources.files("chitchat_dataset").joinpath("dataset.json").read_text(encoding="utf-8")
    return [
        message["text"]
        for conversation in json.loads(raw).values()
        for turn in conversation["messages"]
        for message in turn
    ]


def normalised(texts: Sequence[str]) -> list[str]:
    """Texts as the intent classifier reads them (spaCy's English tokenizer, then normalised)."""
    import spacy

    from nlu.normalize import normalize_doc, normalized_text

    tokenizer = spacy.blank("en").tokenizer
    return [normalized_text(normalize_doc(doc)) for doc in tokenizer.pipe(texts, batch_size=1024)]


def build(sentences: Sequence[str], settings: VectorSettings | None = None) -> WordVectors:
    """Learn vectors from normalised sentences (space-separated tokens)."""
    from scipy.sparse.linalg import svds

    settings = settings or VectorSettings()
    tokenised = [s.split() for s in sentences]
    # Punctuation tokens are everywhere, so they carry no meaning and would crowd contexts.
    counts = Counter(w for words in tokenised for w in words if is_word(w))
    words = sorted(w for w, c in counts.items() if c >= settings.min_count)
    index = {w: i for i, w in enumerate(words)}
    ids, sentence_of = [], []
    for number, tokens in enumerate(tokenised):
        kept = [index[w] for w in tokens if w in index]
        ids.extend(kept)
        sentence_of.extend([number] * len(kept))
    cooccurrence = _window_counts(np.array(ids), np.array(sentence_of), settings.window, len(words))
    ppmi = _positive_pmi(cooccurrence, settings.smoothing)
    u, s, _ = svds(ppmi, k=settings.dim, random_state=0)
    order = np.argsort(-s)
    u, s = u[:, order], s[order]
    # SVD leaves each column's sign arbitrary; fix it so rebuilds on other BLAS libraries agree.
    u *= np.sign(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])])
    vectors = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1)
    # A word whose every context is uninformative (PMI <= 0) gets no direction; drop it.
    kept = np.flatnonzero(norms > 1e-6)
    vectors = vectors[kept] / norms[kept, None]
    return WordVectors([words[i] for i in kept], vectors.astype(np.float32), settings)


def _window_counts(ids: np.ndarray, sentence_of: np.ndarray, window: int, n: int) -> sp.coo_matrix:
    """Symmetric counts of word pairs at most ``window`` apart within one sentence."""
    rows, cols = [], []
    for gap in range(1, window + 1):
        same = sentence_of[gap:] == sentence_of[:-gap]
        left, right = ids[:-gap][same], ids[gap:][same]
        rows += [left, right]
        cols += [right, left]
    row, col = np.concatenate(rows), np.concatenate(cols)
    counts = sp.coo_matrix((np.ones(len(row), np.float64), (row, col)), shape=(n, n))
    return counts.tocsr().tocoo()  # sums duplicate pairs


def _positive_pmi(counts: sp.coo_matrix, smoothing: float) -> sp.csr_matrix:
    """PMI of each counted pair, negatives dropped; context probabilities smoothed."""
    total = counts.data.sum()
    word_p = np.asarray(counts.sum(axis=1)).ravel() / total
    context_p = np.asarray(counts.sum(axis=0)).ravel() ** smoothing
    context_p /= context_p.sum()
    pmi = np.log(counts.data / total / word_p[counts.row] / context_p[counts.col])
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=counts.shape)
