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
from generator.decode import DecodeOptions, pad_sources, search
from generator.index import ReplyIndex
from generator.model import Seq2Seq
from generator.ranker import Featurizer, Scores
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
    searched: list[float] = field(default_factory=list)  # log p(reply | context) from the search
    stored_lm: list[float | None] = field(default_factory=list)  # the index's anti-LM scores

    def add(
        self,
        text: str,
        source: dict[str, Any],
        ids: list[int],
        logp: float | None = None,
        anti_lm: float | None = None,
    ) -> bool:
        """Add a candidate unless its words are already in the pool; True if added.

        ``logp``: log p(reply | context) where the search already has it (generated ones,
        which are added after every other kind); ``anti_lm``: the index's stored score.
        """
        key = " ".join(words(text))
        if not key or not ids or key in self._seen:
            return False
        self._seen.add(key)
        self.texts.append(text)
        self.sources.append(source)
        self.ids.append(ids[:MAX_REPLY_TOKENS])
        if logp is not None:
            self.searched.append(logp)
        self.stored_lm.append(anti_lm)
        return True

    def __post_init__(self) -> None:
        self._seen: set[str] = set()


def feature_rows(featurizer: Featurizer, context: ReplyContext, pool: Pool) -> list[list[float]]:
    """The ranker's feature row of every candidate in ``context``'s pool: one definition for
    serving and for training, so the ranker learns on the features it is served."""
    message, _ = message_and_previous(context)
    return [
        featurizer.row(message, text, scores, source["kind"])
        for text, scores, source in zip(pool.texts, pool.scores, pool.sources, strict=True)
    ]


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
                topic=sources[i][0],
            )
            for r in found:
                source = {"kind": "retrieved", "corpus": r.corpus, "pair": r.pair_id}
                source["retrieval"] = round(r.score, 3)
                out[i].add(r.reply, source, tok.encode(r.reply), anti_lm=r.anti_lm)
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
    """Add the LSTM's beams and samples (the search scores them given their context), then
    score every other candidate given its context and every candidate given the topic token
    alone (the anti-LM) in one teacher-forced pass: the decoder's steps are the cost, so one
    batch of twice the rows beats two passes."""
    unscored = [len(p.ids) for p in out]  # retrieved, grounded, reference
    if options.beam_size or options.num_samples:
        src, lens = pad_sources(sources, tok.pad_id, device)
        opts = options if options.seed is not None else replace(options, seed=0)
        beams, samples = search(model, tok, src, lens, opts, opts.beam_size, opts.num_samples)
        for pool, a, b in zip(out, beams, samples, strict=True):
            for c in a + b:
                pool.add(tok.decode(c.ids), {"kind": "generated"}, c.ids, c.logp)
    rows = [(i, ids) for i, p in enumerate(out) for ids in p.ids[: unscored[i]]]
    given = len(rows)
    rows += [
        (len(out) + i, ids)
        for i, p in enumerate(out)
        for ids, stored in zip(p.ids, p.stored_lm, strict=True)
        if stored is None
    ]
    values: list[float] = []
    if rows:
        topic_only = [s[:1] for s in sources]
        values = reply_logprobs(
            model,
            tok,
            [*sources, *topic_only],
            [o for o, _ in rows],
            [ids for _, ids in rows],
            device,
            packed=True,
        ).tolist()
    logp, lm = iter(values[:given]), iter(values[given:])
    for pool, n in zip(out, unscored, strict=True):
        context = [next(logp) for _ in range(n)] + pool.searched
        pool.scores = [
            Scores(lp, next(lm) if stored is None else stored, len(ids) + 1)
            for lp, stored, ids in zip(context, pool.stored_lm, pool.ids, strict=True)
        ]
