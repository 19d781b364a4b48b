"""Evaluation metrics: per-word perplexity, diversity, generic-reply rate, salience, on-topic."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from generator.batches import Batch, Pair, batches, make_pairs
from generator.data import Conversation
from generator.model import Seq2Seq
from generator.tokenizer import BPETokenizer
from generator.words import weighted_cosine

_TOKEN_RE = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class NLL:
    """Summed negative log-likelihood of references and the counts it is divided by."""

    total: float  # nats, summed over every reference token including <eos>
    tokens: int  # subword tokens scored (the <eos> of each reply included)
    words: int  # whitespace words of the references + one <eos> per reply

    @property
    def token_loss(self) -> float:
        """Mean NLL per subword token (the training loss, without label smoothing)."""
        return self.total / max(1, self.tokens)

    @property
    def word_perplexity(self) -> float:
        """exp(total NLL / words): comparable across tokenizers, unlike token perplexity."""
        return math.exp(min(50.0, self.total / max(1, self.words)))


def batch_nll(model: Seq2Seq, batch: Batch, pad_id: int) -> torch.Tensor:
    """Summed NLL of one batch's targets (a scalar tensor)."""
    keep = batch.tgt_out != pad_id
    logits = model(batch.src, batch.src_lens, batch.tgt_in, keep)  # (N, V): real tokens only
    return F.cross_entropy(logits.float(), batch.tgt_out[keep], reduction="sum")


# Replies are scored up to this many tokens, more than training's cap: every teacher-forced
# score (validation while training, `generator eval`, retraining's gate) counts the same tokens.
SCORED_REPLY_TOKENS = 256


def scored_pairs(
    conversations: Sequence[Conversation],
    tok: BPETokenizer,
    context_turns: int,
    max_source_tokens: int,
) -> list[Pair]:
    """The (context, reply) pairs ``corpus_nll`` scores: every reply, none filtered out."""
    return make_pairs(
        list(conversations), tok, context_turns, max_source_tokens, SCORED_REPLY_TOKENS
    )


@torch.no_grad()
def corpus_nll(
    model: Seq2Seq,
    pairs: Sequence[Pair],
    tok: BPETokenizer,
    device: torch.device,
    batch_size: int = 128,
    max_batches: int | None = None,
) -> NLL:
    """Teacher-forced NLL of every pair's reply, in eval mode, restoring train mode after."""
    was_training = model.training
    model.eval()
    total, tokens, words = 0.0, 0, 0
    for n, batch in enumerate(batches(pairs, tok, batch_size)):
        if max_batches is not None and n >= max_batches:
            break
        batch = batch.to(device)
        total += batch_nll(model, batch, tok.pad_id).item()
        tokens += int((batch.tgt_out != tok.pad_id).sum())
        words += batch.words
    model.train(was_training)
    return NLL(total, tokens, words)


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


def distinct_n(replies: Iterable[str], n: int) -> float:
    """Distinct n-grams over all n-grams in all replies (Li et al. 2016)."""
    grams: Counter[tuple[str, ...]] = Counter()
    for r in replies:
        words = _tokens(r)
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return len(grams) / max(1, sum(grams.values()))


def generic_rate(replies: Sequence[str], top: int = 10) -> float:
    """Share of replies that are one of the ``top`` most frequent replies (normalised)."""
    counts = Counter(" ".join(_tokens(r)) for r in replies)
    return sum(c for _, c in counts.most_common(top)) / max(1, len(replies))


def salience(messages: Sequence[str], replies: Sequence[str]) -> float:
    """Mean TF-IDF cosine between each reply and the message it answers.

    Our version of the "salience" of Çetinkaya, Toroslu and Davulcu (2020): IDF is computed
    over all messages and replies evaluated together, with smoothed idf = ln((1+N)/(1+df))+1,
    so shared rare words ("robot", "vote") count far more than shared common ones ("the").
    Scores lie in [0, 1]; 0 means no word in common.
    """
    docs = [_tokens(t) for t in [*messages, *replies]]
    df: Counter[str] = Counter(w for d in docs for w in set(d))
    n = len(docs)

    def idf(word: str) -> float:
        return math.log((1 + n) / (1 + df[word])) + 1

    scores = [
        weighted_cosine(_tokens(msg), _tokens(rep), idf)
        for msg, rep in zip(messages, replies, strict=True)
    ]
    return sum(scores) / max(1, len(scores))


def on_topic_rate(replies: Sequence[str], keywords: Iterable[str]) -> float:
    """Share of replies mentioning at least one topic keyword (whole words, any case)."""
    words = {k.lower() for k in keywords}
    hits = sum(1 for r in replies if words & set(_tokens(r)))
    return hits / max(1, len(replies))


# Empty stock phrases: a reply built on one says nothing about the message it answers. Written
# (2026-12-06) before the hybrid fallback's ranker was tuned, and applied unchanged to human
# references, which use them about 2 % of the time; the ranker may use the flag as a feature.
STOCK_PHRASES = (
    "never heard of",
    "not sure",
    "i don't think",
    "so cool",
    "good idea",
    "be able to do that",
    "i don't know",
    "no idea",
    "that's cool",
    "that is cool",
    "sounds fun",
    "sounds like fun",
    "that's awesome",
    "that is awesome",
    "not a big fan",
    "what do you mean",
    "i know what you mean",
    "that's true",
    "that is true",
)
_STOCK_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p).replace("'", "['\u2019]?") for p in STOCK_PHRASES) + r")\b"
)


def has_stock_phrase(text: str) -> bool:
    """True if ``text`` contains one of :data:`STOCK_PHRASES` (any case, any apostrophe)."""
    return _STOCK_RE.search(text.lower()) is not None


def stock_rate(replies: Sequence[str]) -> float:
    """Share of replies containing a stock phrase."""
    return sum(map(has_stock_phrase, replies)) / max(1, len(replies))


def average_length(replies: Sequence[str]) -> float:
    """Mean reply length in words."""
    return sum(len(r.split()) for r in replies) / max(1, len(replies))
