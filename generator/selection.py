"""Training the ranker and measuring response selection (Hits@1/20, MRR) on a split.

Each exchange of the split becomes one group: the human reply first, then distractors from the
pool the fallback itself builds (replies retrieved from *other* conversations, the LSTM's beams
and samples). Training fits the ranker to put the human reply first; reporting scores the
validation split three ways: MMI's score alone, the retrieval match alone, the learned ranker.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

from generator.data import Conversation
from generator.decode import DecodeOptions
from generator.hybrid import Pool, feature_rows
from generator.ranker import FEATURES, Featurizer, Ranker, fit, selection_metrics
from generator.reuse import drop_reason
from generator.service import Seq2SeqReplyGenerator
from generator.types import ReplyContext

GROUP_SIZE = 20  # Hits@1/20: the human reply among 19 distractors
RETRIEVED_DISTRACTORS = 11  # the rest are the LSTM's candidates (4 beams + 4 samples)
BATCH = 32


@dataclass(frozen=True)
class Example:
    """A message in its thread, the human reply, and the conversation it came from."""

    context: tuple[str, ...]
    reference: str
    topic: str | None
    conversation: str


def examples(
    convs: Sequence[Conversation],
    context_turns: int,
    n: int,
    seed: int = 0,
    vocabulary: Container[str] | None = None,
) -> list[Example]:
    """Up to ``n`` exchanges drawn (seeded) from the replies of ``convs`` that the index would
    keep: a human reply the index would drop (too long, a name, a fragment) differs from every
    retrieved distractor in a way that has nothing to do with fit, and the ranker would learn
    that tell instead."""
    out = [
        Example(c.turns[max(0, i - context_turns) : i], c.turns[i], c.topic, c.id.split("#")[0])
        for c in convs
        for i in range(1, len(c.turns))
        if drop_reason(c.turns[i - 1], c.turns[i], vocabulary) is None
    ]
    random.Random(seed).shuffle(out)
    return out[:n]


def groups(
    gen: Seq2SeqReplyGenerator, featurizer: Featurizer, batch: Sequence[Example]
) -> list[tuple[Example, Pool, list[list[float]]]]:
    """Each example's candidate group (the human reply first, then up to 19 distractors) with
    the feature rows of its candidates; examples with too few distractors are left out.
    Retrieval is from ``featurizer``'s index, leaving out each example's own conversation."""
    contexts = [ReplyContext(e.context, topic=e.topic) for e in batch]
    found = gen.pools(
        contexts,
        index=featurizer.index,
        # Samples too, though the served pool has none: more of the LSTM's own to tell apart.
        options=DecodeOptions(beam_size=4, hybrid_samples=4, seed=0),
        retrieve=RETRIEVED_DISTRACTORS * 2,
        first=[e.reference for e in batch],
        exclude=[e.conversation for e in batch],
    )
    out = []
    for example, context, pool in zip(batch, contexts, found, strict=True):
        if not pool.sources or pool.sources[0]["kind"] != "reference":
            continue  # the reply has no words the pool can hold
        retrieved = [i for i, s in enumerate(pool.sources) if s["kind"] == "retrieved"]
        generated = [i for i, s in enumerate(pool.sources) if s["kind"] == "generated"]
        keep = [0, *retrieved[:RETRIEVED_DISTRACTORS], *generated]
        keep += retrieved[RETRIEVED_DISTRACTORS:][: GROUP_SIZE - len(keep)]
        keep = keep[:GROUP_SIZE]
        if len(keep) < GROUP_SIZE:
            continue
        rows = feature_rows(featurizer, context, pool)
        out.append((example, pool, [rows[i] for i in keep]))
    return out


def all_groups(
    gen: Seq2SeqReplyGenerator,
    featurizer: Featurizer,
    chosen: Sequence[Example],
    progress: Callable[[int], object] | None = None,
) -> list[list[list[float]]]:
    """Feature groups of every example, in batches (``progress`` gets each batch's size)."""
    rows: list[list[list[float]]] = []
    for start in range(0, len(chosen), BATCH):
        part = chosen[start : start + BATCH]
        rows += [r for _, _, r in groups(gen, featurizer, part)]
        if progress is not None:
            progress(len(part))
    return rows


def mmi_score(row: Sequence[float], options: DecodeOptions) -> float:
    """The served MMI re-ranking score of a candidate, from its feature row."""
    f = dict(zip(FEATURES, row, strict=True))
    lm = f["anti_lm"] * options.mmi_weight
    return f["tokens"] * (f["logp"] - lm + options.length_bonus)


def report(
    rows: Sequence[Sequence[Sequence[float]]], ranker: Ranker, options: DecodeOptions
) -> dict[str, dict[str, float]]:
    """Hits@1/20 and MRR of MMI alone, the retrieval match alone and the learned ranker."""
    overlap = FEATURES.index("overlap")
    return {
        "mmi": selection_metrics([[mmi_score(r, options) for r in g] for g in rows]),
        "retrieval": selection_metrics([[r[overlap] for r in g] for g in rows]),
        "ranker": selection_metrics([ranker.score(g) for g in rows]),
        "groups": {"count": float(len(rows))},
    }


def train_ranker(rows: Sequence[Sequence[Sequence[float]]], **trained_on: object) -> Ranker:
    """Fit the ranker on training groups (see :func:`generator.ranker.fit`)."""
    return fit(rows, trained_on=dict(trained_on))
