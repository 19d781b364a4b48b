"""The learned entity recogniser: spaCy's ``ner`` trained on the annotations of open labels.

It sits after the rules in the pipeline, and spaCy's ``ner`` keeps entities already set, so
rules win wherever they match and the model only adds spans they do not know. A model trained
from scratch on a few thousand utterances is a few MB and parses in well under a millisecond.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.training import Example as SpacyExample
from spacy.util import compounding, filter_spans, fix_random_seed, minibatch
from tqdm import tqdm

from nlu.data import Example
from nlu.normalize import normalize_doc

NER = "ner"
# A small CNN over hashed word, prefix, suffix and shape features: no pretrained weights.
NER_MODEL: dict[str, Any] = {
    "@architectures": "spacy.TransitionBasedParser.v2",
    "state_type": "ner",
    "extra_state_tokens": False,
    "hidden_width": 64,
    "maxout_pieces": 2,
    "use_upper": True,
    "nO": None,
    "tok2vec": {
        "@architectures": "spacy.HashEmbedCNN.v2",
        "pretrained_vectors": None,
        "width": 96,
        "depth": 4,
        "embed_size": 2000,
        "window_size": 1,
        "maxout_pieces": 3,
        "subword_features": True,
    },
}


@dataclass(frozen=True)
class EntityTraining:
    """How the recogniser is trained; the defaults were chosen on HWU64 (docs/benchmarks.md)."""

    epochs: int = 20
    # Small data gets more epochs, so the model sees at least this many examples in all.
    min_examples_seen: int = 2000
    max_epochs: int = 100
    dropout: float = 0.2
    batch_start: float = 4.0
    batch_stop: float = 32.0
    # Learned entities keep only labels annotated under the top intent or an intent at least
    # this likely (nlu.entity_filter); None keeps every learned label.
    intent_filter: float | None = 0.05


def training_examples(
    nlp: Language, examples: Iterable[Example], labels: set[str]
) -> list[SpacyExample]:
    """spaCy examples whose gold entities are the spans of ``labels``; other tokens are O.

    Spans are widened to whole tokens (an annotation may cut a token); the input side is
    normalised as the pipeline's ``tweet_normalizer`` will normalise it when parsing.
    """
    out = []
    for example in examples:
        reference = nlp.make_doc(example.text)
        spans = (
            reference.char_span(s.start, s.end, s.label, alignment_mode="expand")
            for s in example.spans
            if s.label in labels
        )
        reference.ents = filter_spans(s for s in spans if s is not None)
        out.append(SpacyExample(normalize_doc(nlp.make_doc(example.text)), reference))
    return out


def train_entity_model(
    nlp: Language,
    examples: list[Example],
    labels: set[str],
    *,
    seed: int = 0,
    options: EntityTraining | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Add a ``ner`` component after the rules and train it; return its training figures."""
    opts = options or EntityTraining()
    fix_random_seed(seed)
    ner = nlp.add_pipe(NER, after="regex_entities", config={"model": NER_MODEL})
    gold = training_examples(nlp, examples, labels)
    ner.initialize(lambda: gold, nlp=nlp)
    optimizer = ner.create_optimizer()
    rng = random.Random(seed)
    losses: dict[str, float] = {}
    epochs = min(max(opts.epochs, math.ceil(opts.min_examples_seen / len(gold))), opts.max_epochs)
    for _ in tqdm(range(epochs), desc="entity model", unit="epoch", disable=not progress):
        rng.shuffle(gold)
        losses = {}
        sizes = compounding(opts.batch_start, opts.batch_stop, 1.001)
        for batch in minibatch(gold, size=sizes):
            ner.update(batch, drop=opts.dropout, sgd=optimizer, losses=losses)
    # Keep the parameter averages the optimiser tracked: steadier than the last step's.
    for node in ner.model.walk():
        for name in node.param_names:
            if (node.id, name) in optimizer.averages:
                node.set_param(name, optimizer.averages[(node.id, name)])
    return {
        "labels": sorted(labels),
        "examples": len(gold),
        "epochs": epochs,
        "final_loss": round(float(losses.get(NER, 0.0)), 3),
    }
