"""The hybrid fallback's candidate pool: retrieved human replies, grounded acknowledgements
and the LSTM's own beams and samples, each scored by the LSTM for the learned ranker.

One function builds the pool for serving and for training the ranker, so the ranker is trained
on exactly the candidates it will meet (training adds the human reply and leaves out the
message's own conversation from retrieval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from generator.clean import scrub
from generator.decode import Candidate, DecodeOptions, pad_sources, search
from generator.index import ReplyIndex
from generator.model import Seq2Seq
from generator.ranker import Scores
from generator.rerank import reply_logprobs
from generator.tokenizer import BPETokenizer
from generator.types import ReplyContext
from generator.words import words

MAX_REPLY_TOKENS = 40  # teacher-forced length cap: as long as any training target


@dataclass
class Pool:
    """One context's candidates: text, where it came from, and the LSTM's figures."""

    texts: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    ids: list[list[int]] = field(default_factory=list)
    scores: list[Scores] = field(default_factory=list)

    def add(self, text: str, source: dict[str, Any], ids: list[int]) -> bool:
        """Add a candidate unless its words are already in the pool; True if added."""
        key = " ".join(words(text))
        if not key or not ids or key in self._seen:
            return False
        self._seen.add(key)
        self.texts.append(text)
        self.sources.append(source)
        self.ids.append(ids[:MAX_REPLY_TOKENS])
        return True

    def __post_init__(self) -> None:
        self._seen: set[str] = set()


def message_and_previous(context: ReplyContext) -> tuple[str, str]:
    """The user's message (scrubbed) and the turn before it, what retrieval matches on."""
    history = [scrub(t) for t in context.history]
    return (history[-1] if history else ""), (history[-2] if len(history) > 1 else "")


def pools(
    model: Seq2Seq,
    tok: BPETokenizer,
    index: ReplyIndex | None,
    contexts: Sequence[ReplyContext],
    sources: Sequence[list[int]],
    options: DecodeOptions,
    device: torch.device,
    *,
    retrieve: int,
    first: Sequence[str] | None = None,
    exclude: Sequence[str | None] | None = None,
) -> list[Pool]:
    """Every context's candidates with their LSTM scores.

    ``first`` puts one extra text at the head of each pool (the human reply, when training or
    measuring the ranker); ``exclude`` names each context's own conversation, which retrieval
    then leaves out.
    """
    out = [Pool() for _ in contexts]
    if first is not None:
        for pool, text in zip(out, first, strict=True):
            pool.add(text, {"kind": "reference"}, tok.encode(text))
    if index is not None and retrieve:
        for i, ctx in enumerate(contexts):
            message, previous = message_and_previous(ctx)
            found = index.search(
                message,
                previous,
                retrieve,
                exclude_conversation=exclude[i] if exclude is not None else None,
                allow_human_life=ctx.persona.kind != "bot",
            )
            for r in found:
                source = {"kind": "retrieved", "corpus": r.corpus, "pair": r.pair_id}
                out[i].add(r.reply, {**source, "retrieval": round(r.score, 3)}, tok.encode(r.reply))
    for pool, ctx in zip(out, contexts, strict=True):
        for text in ctx.grounded:
            pool.add(text, {"kind": "grounded"}, tok.encode(text))
    _score(model, tok, out, sources, options, device)
    return out


@torch.no_grad()
def _score(
    model: Seq2Seq,
    tok: BPETokenizer,
    out: list[Pool],
    sources: Sequence[list[int]],
    options: DecodeOptions,
    device: torch.device,
) -> None:
    """Score the candidates found so far given their context, add the LSTM's beams and
    samples (scored by the search itself), then score everything given the topic token alone
    (the anti-LM)."""
    for pool, logp in zip(out, _logprobs(model, tok, out, sources, device), strict=True):
        pool.scores = [
            Scores(lp, 0.0, len(ids) + 1) for lp, ids in zip(logp, pool.ids, strict=True)
        ]
    if options.beam_size or options.num_samples:
        src, lens = pad_sources(sources, tok.pad_id, device)
        opts = options if options.seed is not None else replace(options, seed=0)
        beams, samples = search(model, tok, src, lens, opts, opts.beam_size, opts.num_samples)
        for pool, found in zip(out, beams, strict=True):
            _add_generated(pool, tok, found)
        for pool, found in zip(out, samples, strict=True):
            _add_generated(pool, tok, found)
    topic_only = [s[:1] for s in sources]
    for pool, lm in zip(out, _logprobs(model, tok, out, topic_only, device), strict=True):
        pool.scores = [replace(s, anti_lm=v) for s, v in zip(pool.scores, lm, strict=True)]


def _add_generated(pool: Pool, tok: BPETokenizer, found: Sequence[Candidate]) -> None:
    for c in found:
        if pool.add(tok.decode(c.ids), {"kind": "generated"}, c.ids):
            pool.scores.append(Scores(c.logp, 0.0, len(c.ids) + 1))


def _logprobs(
    model: Seq2Seq,
    tok: BPETokenizer,
    out: Sequence[Pool],
    sources: Sequence[list[int]],
    device: torch.device,
) -> list[list[float]]:
    """log p(reply + <eos> | source) of every candidate in every pool, in one batched pass."""
    owner = [i for i, p in enumerate(out) for _ in p.ids]
    if not owner:
        return [[] for _ in out]
    flat = reply_logprobs(model, tok, sources, owner, [i for p in out for i in p.ids], device)
    values = flat.tolist()
    result, at = [], 0
    for pool in out:
        result.append(values[at : at + len(pool.ids)])
        at += len(pool.ids)
    return result
