"""Scoring a loaded generator on conversations: the steps `generator eval` and the topic gate
of `generator finetune` share (which conversations, which replies, which figures)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from generator.clean import prepare, split_conversations
from generator.config import DataConfig
from generator.data import Conversation, iter_pairs
from generator.evaluate import (
    NLL,
    average_length,
    corpus_nll,
    distinct_n,
    generic_rate,
    on_topic_rate,
    salience,
    scored_pairs,
    stock_rate,
)
from generator.persona import Persona
from generator.service import Seq2SeqReplyGenerator
from generator.types import Generated, ReplyContext

REPLY_BATCH = 64  # contexts decoded together: the batched search's sweet spot on CPU


@dataclass(frozen=True)
class Exchange:
    """A scored message: its context turns (the message last), the human reply, its topic."""

    context: tuple[str, ...]
    reference: str
    topic: str | None

    @property
    def message(self) -> str:
        """The turn being answered."""
        return self.context[-1]


def split_for_eval(
    convs: Iterable[Conversation], data: DataConfig, split: str, topics: Sequence[str] = ()
) -> list[Conversation]:
    """Cleaned conversations of ``split`` (validation, train or all), cut as the model's own
    training cut them (same turn length, validation share and salt), so training pairs
    never count as validation."""
    kept = prepare(list(convs), max_turn_words=data.max_turn_words, topics=topics)
    if split == "all":
        return kept
    train, validation = split_conversations(kept, data.val_fraction, data.split_seed)
    return validation if split == "validation" else train


def perplexity(
    gen: Seq2SeqReplyGenerator, convs: Sequence[Conversation], context_turns: int
) -> tuple[NLL, int]:
    """Teacher-forced NLL of every reply in ``convs`` under ``gen``'s model, and the number
    of (context, reply) pairs it covers."""
    pairs = scored_pairs(convs, gen.tok, context_turns, gen.max_source_tokens)
    return corpus_nll(gen.model, pairs, gen.tok, gen.device), len(pairs)


def sample_exchanges(
    convs: Sequence[Conversation], context_turns: int, n: int, seed: int = 0
) -> list[Exchange]:
    """``n`` exchanges drawn from every reply of ``convs`` (seeded, so runs compare)."""
    pairs = [Exchange(c, r, t) for c, r, t in iter_pairs(list(convs), context_turns)]
    random.Random(seed).shuffle(pairs)
    return pairs[:n]


def generate_replies(
    gen: Seq2SeqReplyGenerator, contexts: Sequence[ReplyContext]
) -> tuple[list[str], list[Generated]]:
    """Each context's best candidate as decoded (before the guard; "" if none) and the reply
    the bot would send (after fitting and the guard), decoded in batches."""
    raw: list[str] = []
    sent: list[Generated] = []
    for start in range(0, len(contexts), REPLY_BATCH):
        part = contexts[start : start + REPLY_BATCH]
        candidates = gen.candidates(part)
        raw += [c[0].text if c else "" for c in candidates]
        sent += gen.choose(part, candidates)
    return raw, sent


def text_metrics(
    exchanges: Sequence[Exchange], replies: Sequence[str], keywords: Iterable[str] | None = None
) -> dict[str, float]:
    """Diversity, length, generic rate and salience of ``replies`` (one per exchange), with
    the references' salience, and with ``keywords`` both on-topic rates."""
    messages = [e.message for e in exchanges]
    references = [e.reference for e in exchanges]
    out = {
        "distinct_1": distinct_n(replies, 1),
        "distinct_2": distinct_n(replies, 2),
        "average_length_words": average_length(replies),
        "generic_rate_top10": generic_rate(replies),
        "salience_tfidf": salience(messages, replies),
        "reference_salience_tfidf": salience(messages, references),
        "stock_phrase_rate": stock_rate(replies),
        "reference_stock_phrase_rate": stock_rate(references),
        "persona_break_rate": persona_rate(replies),
        "reference_persona_break_rate": persona_rate(references),
    }
    if keywords is not None:
        words = list(keywords)
        out["on_topic_rate"] = on_topic_rate(replies, words)
        out["reference_on_topic_rate"] = on_topic_rate(references, words)
    return out


def persona_rate(replies: Sequence[str], persona: Persona | None = None) -> float:
    """Share of replies that break ``persona`` (a bot's, by default: a claimed human life)."""
    rule = persona or Persona()
    return sum(map(rule.breaks, replies)) / max(1, len(replies))


def source_shares(sent: Sequence[Generated]) -> dict[str, float]:
    """Share of sent replies from each source (retrieved, grounded, generated)."""
    kinds = Counter((g.source or {}).get("kind", "generated") for g in sent if g.text)
    total = max(1, sum(kinds.values()))
    return {f"source_{kind}": n / total for kind, n in sorted(kinds.items())}


def guard_metrics(gen: Seq2SeqReplyGenerator, sent: Sequence[Generated]) -> dict[str, Any]:
    """Share of replies the guard refused, and the generator's refusals by reason."""
    return {
        "guard_rejection_rate": sum(g.text is None for g in sent) / max(1, len(sent)),
        "guard_rejections": dict(gen.rejections),
    }
