"""Topic specialisation: fine-tune the general model on one topic, then gate it against that model.

The recipe the measurements asked for: start from the *general* checkpoint (its tokenizer and
shape), train on the topic's conversations with as many general pairs mixed in (so chit-chat
is not forgotten), condition on the topic token, use a low learning rate and early-stop on the
topic's own validation split. The gate then scores both models on that split.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from generator import checkpoint
from generator.clean import prepare, split_conversations
from generator.config import DataConfig, TrainConfig
from generator.data import Conversation, load_corpus, on_side, write_jsonl
from generator.scoring import generate_replies, perplexity, sample_exchanges, text_metrics
from generator.service import Seq2SeqReplyGenerator, load
from generator.train import TrainResult, train
from generator.types import ReplyContext


def topic_conversations(convs: Sequence[Conversation], topic: str) -> list[Conversation]:
    """Conversations labelled ``topic``; if none carries that label, all of them, relabelled."""
    labelled = [c for c in convs if (c.topic or "").lower() == topic.lower()]
    return labelled or [replace(c, topic=topic) for c in convs]


def mix_general(
    general: Sequence[Conversation], topic_ids: set[str], pairs_wanted: int, seed: int
) -> list[Conversation]:
    """General training conversations (never topic ones) holding about ``pairs_wanted`` pairs."""
    pool = [c for c in general if c.id not in topic_ids]
    random.Random(seed).shuffle(pool)
    out, pairs = [], 0
    for conv in pool:
        if pairs >= pairs_wanted:
            break
        out.append(conv)
        pairs += len(conv.turns) - 1
    return out


def write_mixed_corpus(
    out: Path,
    topic: str,
    topic_corpus: str,
    general_corpus: str,
    data: DataConfig,
    general_ratio: float,
    side: str | None = None,
) -> tuple[list[Conversation], list[Conversation], int]:
    """Write ``out/data`` (a prepared dir) and return (topic train, topic validation, general n).

    Validation is the topic's only, so early stopping watches the topic. Splits use the base
    model's salt, so a topic conversation the base held out stays held out here. ``side``
    keeps only the topic threads that take it (a side's model, as in SNAM's design).
    """
    convs = topic_conversations(prepare(load_corpus(topic_corpus), max_turn_words=40), topic)
    if side is not None:
        convs = on_side(convs, side, topic_corpus)
    tr, va = split_conversations(convs, data.val_fraction, data.split_seed)
    if not tr or not va:
        raise ValueError(
            f"topic {topic!r} in {topic_corpus} gave {len(tr)} train and {len(va)} validation "
            "conversations; need both non-empty (a larger corpus or --val-fraction)"
        )
    general: list[Conversation] = []
    if general_ratio > 0:
        gen_all = prepare(load_corpus(general_corpus), max_turn_words=40)
        gen_tr, _ = split_conversations(gen_all, data.val_fraction, data.split_seed)
        wanted = int(general_ratio * sum(len(c.turns) - 1 for c in tr))
        general = mix_general(gen_tr, {c.id for c in convs}, wanted, data.split_seed)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl([*tr, *general], folder / "train.jsonl.gz")
    write_jsonl(va, folder / "validation.jsonl.gz")
    return tr, va, len(general)


@dataclass(frozen=True)
class ModelScore:
    """One model on the topic's validation split."""

    word_perplexity: float
    on_topic_rate: float
    salience: float
    samples: list[tuple[str, str]]  # (message, reply)


@dataclass(frozen=True)
class Gate:
    """Topic model against general model on the topic's validation split."""

    topic: str
    pairs: int
    replies: int
    general: ModelScore
    tuned: ModelScore
    reference_on_topic_rate: float
    reference_salience: float

    @property
    def passed(self) -> bool:
        """Better on both: lower perplexity and a higher on-topic rate."""
        return (
            self.tuned.word_perplexity < self.general.word_perplexity
            and self.tuned.on_topic_rate > self.general.on_topic_rate
        )

    def table(self) -> str:
        """The gate as a small text table."""
        rows = [
            f"topic gate '{self.topic}': {self.pairs} validation pairs, {self.replies} replies",
            f"{'model':<10}{'per-word ppl':>14}{'on-topic':>10}{'salience':>10}",
        ]
        for name, s in (("general", self.general), ("topic", self.tuned)):
            rows.append(
                f"{name:<10}{s.word_perplexity:>14.2f}{s.on_topic_rate:>10.1%}{s.salience:>10.3f}"
            )
        rows.append(
            f"{'reference':<10}{'':>14}{self.reference_on_topic_rate:>10.1%}"
            f"{self.reference_salience:>10.3f}"
        )
        rows.append(
            "PASSED" if self.passed else "FAILED: the topic model must beat the general one"
        )
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ``gate.json``."""
        return {**asdict(self), "passed": self.passed}


def score_model(
    gen: Seq2SeqReplyGenerator,
    convs: Sequence[Conversation],
    topic: str,
    keywords: Sequence[str],
    max_replies: int,
    context_turns: int,
) -> tuple[ModelScore, dict[str, float], int]:
    """Perplexity on every pair; replies (conditioned on ``topic``) to up to ``max_replies``,
    with their text metrics (the references' figures among them) and how many there are."""
    nll, _ = perplexity(gen, convs, context_turns)
    exchanges = sample_exchanges(convs, context_turns, max_replies)
    replies, _ = generate_replies(gen, [ReplyContext(e.context, topic=topic) for e in exchanges])
    figures = text_metrics(exchanges, replies, keywords)
    score = ModelScore(
        word_perplexity=nll.word_perplexity,
        on_topic_rate=figures["on_topic_rate"],
        salience=figures["salience_tfidf"],
        samples=[(e.message, r) for e, r in zip(exchanges, replies, strict=True)][:10],
    )
    return score, figures, len(replies)


def topic_gate(
    general_model: str | Path,
    topic_model: str | Path,
    validation: Sequence[Conversation],
    topic: str,
    keywords: Sequence[str],
    max_replies: int = 300,
    **decoding: Any,
) -> Gate:
    """Score both models on the topic's validation conversations (int8, as served)."""
    scores = []
    for path in (general_model, topic_model):
        gen = load(path, **{"rerank": True, "seed": 0, **decoding})
        ctx_turns = checkpoint.data_config(checkpoint.read(path)).context_turns
        scores.append(score_model(gen, validation, topic, keywords, max_replies, ctx_turns))
    (general, _, _), (tuned, figures, replies) = scores
    return Gate(
        topic=topic,
        pairs=sum(len(c.turns) - 1 for c in validation),
        replies=replies,
        general=general,
        tuned=tuned,
        reference_on_topic_rate=figures["reference_on_topic_rate"],
        reference_salience=figures["reference_salience_tfidf"],
    )


def finetune(
    cfg: TrainConfig,
    *,
    base: str | Path,
    topic: str,
    topic_corpus: str,
    general_corpus: str,
    general_ratio: float,
    name: str,
    log: Callable[[str], None] = print,
    progress: bool = True,
    resume: bool = False,
    side: str | None = None,
) -> tuple[TrainResult, list[Conversation]]:
    """Write the mixed corpus, fine-tune ``base`` on it; returns the result and topic validation."""
    out = Path(cfg.out_dir)
    tr, va, n_general = write_mixed_corpus(
        out, topic, topic_corpus, general_corpus, cfg.data, general_ratio, side
    )
    taking = f" taking the {side} side" if side else ""
    log(
        f"topic {topic!r}{taking}: {len(tr)} train / {len(va)} validation conversations; "
        f"{n_general} general conversations mixed in"
    )
    cfg = replace(cfg, data=replace(cfg.data, corpus=str(out / "data"), topics=[], keywords=[]))
    result = train(
        cfg,
        init_from=None if resume else base,
        resume=resume,
        name=name,
        log=log,
        progress=progress,
    )
    return result, va
