"""Load a trained model directory and parse text into ``Parse`` results."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlu import components, entity_filter, stance  # noqa: F401  (register saved pipes' factories)
from nlu.chars import SURROGATE
from nlu.errors import ModelNotFoundError
from nlu.stance import PIPE
from nlu.trust import TrustGate
from nlu.types import Entity, IntentScore, Parse

TOP_K = 5  # ranked intents kept in a Parse: enough for review screens, cheap to store per turn
TRAIN_HINT = "threadbot nlu train --data data/bot/intents.yml --out {path}"


class NLUModel:
    """A loaded pipeline; ``parse`` is thread-safe (one lock around the pipeline call)."""

    def __init__(self, nlp: Language, path: Path) -> None:
        self.nlp = nlp
        self.path = path
        meta = nlp.meta.get("threadbot", {})
        self.meta = meta
        self.version = f"{nlp.meta.get('name', 'nlu')}-{meta.get('data_hash', 'unknown')}"
        self.out_of_scope: str | None = meta.get("out_of_scope")
        # spaCy's vocab grows as new words arrive, which is not safe from several threads at
        # once; a parse takes about a millisecond, so a lock costs little.
        self._lock = threading.Lock()

    @property
    def gate(self) -> TrustGate:
        """The trust gate the pipeline applies (read each time: calibration may replace it)."""
        return self.nlp.get_pipe("intent_gate").gate

    def parse(self, text: str) -> Parse:
        """Parse one message."""
        with self._lock:
            doc = self.nlp(text)
        return to_parse(doc, self.gate)

    def parse_many(self, texts: Iterable[str], batch_size: int = 256) -> list[Parse]:
        """Parse many messages in batches (faster than calling ``parse`` in a loop)."""
        with self._lock:
            docs = list(self.nlp.pipe(texts, batch_size=batch_size))
        gate = self.gate
        return [to_parse(doc, gate) for doc in docs]

    @property
    def reads_stance(self) -> bool:
        """Whether this model has a trained stance classifier."""
        return PIPE in self.nlp.pipe_names and self.nlp.get_pipe(PIPE).model.is_trained

    def side_of(self, text: str) -> str:
        """The side ``text`` takes toward the topic when the model is sure, else ``none``:
        the normaliser and the stance pipe only, for the fallback's candidates (any text:
        half a surrogate pair, which no tokenizer encodes, is dropped first)."""
        if not self.reads_stance:
            return "none"
        with self._lock:
            doc = self.nlp.make_doc(SURROGATE.sub("", text))
            for name in ("tweet_normalizer", PIPE):
                doc = self.nlp.get_pipe(name)(doc)
        return doc._.stance.side

    def __repr__(self) -> str:
        return f"NLUModel({str(self.path)!r}, version={self.version!r})"


def to_parse(doc: Doc, gate: TrustGate | None = None, top_k: int = TOP_K) -> Parse:
    """Turn an annotated doc into a ``Parse``; ``gate`` is the one that set its trust."""
    ranked = sorted(doc.cats.items(), key=lambda kv: kv[1], reverse=True)[:top_k]
    intents = tuple(IntentScore(name, float(p)) for name, p in ranked)
    # Rule matches always carry an id (their canonical value); the learned ``ner`` sets none.
    entities = tuple(
        Entity(
            ent.label_,
            ent.text,
            ent.start_char,
            ent.end_char,
            ent.ent_id_ or ent.text,
            "rule" if ent.ent_id_ else "model",
        )
        for ent in doc.ents
    )
    return Parse(doc.text, intents, bool(doc._.intent_trusted), entities, gate, doc._.stance)


def load(path: str | Path) -> NLUModel:
    """Load a model directory written by ``threadbot nlu train``."""
    path = Path(path)
    hint = TRAIN_HINT.format(path=path)
    if not path.is_dir():
        raise ModelNotFoundError(
            f"no NLU model at {path}: the directory does not exist; train one with `{hint}`"
        )
    meta_file = path / "meta.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"{path} is not an NLU model (no readable meta.json); train one with `{hint}`"
        ) from exc
    if "threadbot" not in meta or "intent_classifier" not in meta.get("pipeline", []):
        raise ModelNotFoundError(
            f"{path} is a spaCy pipeline but not a threadbot NLU model; train one with `{hint}`"
        )
    try:
        nlp = spacy.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(
            f"cannot load the NLU model at {path} ({exc}); retrain it with `{hint}`"
        ) from exc
    return NLUModel(nlp, path)
