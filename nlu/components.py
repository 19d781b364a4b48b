"""spaCy pipeline components: normaliser, regex entities, intent classifier and trust gate."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlu.classifier import LinearIntentModel
from nlu.features import Featurizer
from nlu.normalize import normalize_doc, normalized_text
from nlu.trust import DEFAULT_GATE, TrustGate
from nlu.wordvectors import resolve

# Set by the gate; read by nlu.model to fill Parse.trusted.
if not Doc.has_extension("intent_trusted"):
    Doc.set_extension("intent_trusted", default=False)


@Language.component("tweet_normalizer")
def tweet_normalizer(doc: Doc) -> Doc:
    """Give each token a normalised ``norm_`` (mentions, URLs, hashtags, emoji, repeats, case)."""
    return normalize_doc(doc)


class RegexEntities:
    """Adds entities found by regular expressions over the whole text, which token rules miss."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.patterns: list[tuple[str, str]] = []  # (label, pattern)
        self._compiled: list[tuple[str, re.Pattern[str]]] = []

    def add_patterns(self, label: str, patterns: Iterable[str]) -> None:
        """Add regular expressions that mark ``label``."""
        for pattern in patterns:
            self.patterns.append((label, pattern))
            self._compiled.append((label, re.compile(pattern, re.IGNORECASE)))

    def __call__(self, doc: Doc) -> Doc:
        """Add the matches that do not overlap entities already found."""
        found: list[Span] = []
        for label, regex in self._compiled:
            for match in regex.finditer(doc.text):
                span = doc.char_span(match.start(), match.end(), label, alignment_mode="expand")
                if span is not None:
                    span.id_ = span.text  # an id marks a rule match; a pattern's value is its text
                    found.append(span)
        if found:
            taken = {i for ent in doc.ents for i in range(ent.start, ent.end)}
            free = [s for s in filter_spans(found) if not taken.intersection(range(s.start, s.end))]
            doc.ents = [*doc.ents, *free]
        return doc

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the patterns as JSON."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "patterns.json").write_text(json.dumps(self.patterns), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> RegexEntities:
        """Load the patterns saved by ``to_disk``."""
        self.patterns, self._compiled = [], []
        for label, pattern in json.loads((Path(path) / "patterns.json").read_text("utf-8")):
            self.add_patterns(label, [pattern])
        return self


@Language.factory("regex_entities")
def make_regex_entities(nlp: Language, name: str) -> RegexEntities:
    """Build an empty regex entity matcher; patterns come from the training data."""
    return RegexEntities(name)


class IntentClassifier:
    """Sets ``doc.cats`` to calibrated intent probabilities from a ``LinearIntentModel``."""

    def __init__(self, name: str, model: LinearIntentModel) -> None:
        self.name = name
        self.model = model

    def __call__(self, doc: Doc) -> Doc:
        """Score one doc (an untrained classifier leaves ``cats`` empty)."""
        if self.model.is_trained:
            probs = self.model.probabilities(self.model.logits(normalized_text(doc)))
            doc.cats = dict(zip(self.model.labels, probs.tolist(), strict=True))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Score docs in batches: one sparse matrix product per batch."""
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score(batch)
                batch = []
        yield from self._score(batch)

    def _score(self, docs: list[Doc]) -> list[Doc]:
        """Set ``cats`` on a batch of docs."""
        if docs and self.model.is_trained:
            logits = self.model.logits_many([normalized_text(d) for d in docs])
            for doc, row in zip(docs, self.model.probabilities(logits).tolist(), strict=True):
                doc.cats = dict(zip(self.model.labels, row, strict=True))
        return docs

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Save the trained model's arrays and vocabulary."""
        self.model.to_disk(Path(path))

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> IntentClassifier:
        """Load arrays saved by ``to_disk``."""
        self.model.from_disk(Path(path))
        return self


@Language.factory(
    "intent_classifier",
    default_config={
        "word_ngrams": 2,
        "char_low": 2,
        "char_high": 5,
        "min_df": 1,
        "c": 30.0,
        "max_iter": 300,
        "word_vectors": "",
        "vector_scale": 1.0,
        "balanced": False,
    },
)
def make_intent_classifier(
    nlp: Language,
    name: str,
    word_ngrams: int,
    char_low: int,
    char_high: int,
    min_df: int,
    c: float,
    max_iter: int,
    word_vectors: str,
    vector_scale: float,
    balanced: bool,
) -> IntentClassifier:
    """Build an untrained classifier; ``nlu.train`` fits it, ``from_disk`` restores it.

    ``word_vectors`` names a word vector table (``chitchat``: the shipped one, or a path to
    an ``.npz`` written by ``threadbot nlu vectors``); empty means n-grams only.
    """
    featurizer = Featurizer(word_ngrams, char_low, char_high, min_df)
    model = linear_model(featurizer, c, max_iter, word_vectors, vector_scale, balanced)
    return IntentClassifier(name, model)


def linear_model(
    featurizer: Featurizer,
    c: float,
    max_iter: int = 300,
    word_vectors: str = "",
    vector_scale: float = 1.0,
    balanced: bool = False,
) -> LinearIntentModel:
    """An untrained linear model from a pipe's config values (intents and stance alike);
    ``word_vectors`` names the table of its dense block, "" for n-grams only."""
    vectors = (resolve(word_vectors), vector_scale) if word_vectors else None
    return LinearIntentModel(featurizer, c=c, max_iter=max_iter, balanced=balanced, vectors=vectors)


class IntentGate:
    """The pipe that applies a ``TrustGate``: marks the top intent trusted or not.

    A spaCy component only, holding no values of its own: saved models name its factory,
    ``intent_gate``, whose config carries the gate's threshold and margin.
    """

    def __init__(self, name: str, gate: TrustGate) -> None:
        self.name = name
        self.gate = gate

    def __call__(self, doc: Doc) -> Doc:
        """Set ``doc._.intent_trusted``."""
        doc._.intent_trusted = self.gate.trusts(doc.cats.values())
        return doc


@Language.factory(
    "intent_gate",
    default_config={"threshold": DEFAULT_GATE.threshold, "margin": DEFAULT_GATE.margin},
)
def make_intent_gate(nlp: Language, name: str, threshold: float, margin: float) -> IntentGate:
    """Build the gate; training replaces the defaults with values chosen on validation data."""
    if not 0.0 <= threshold <= 1.0 or not 0.0 <= margin <= 1.0:
        raise ValueError(f"threshold and margin must lie in [0, 1], got {threshold}, {margin}")
    return IntentGate(name, TrustGate(threshold, margin))
