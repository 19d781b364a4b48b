"""The hybrid fallback's candidate pool: retrieved human replies, grounded acknowledgements
and the LSTM's own beams and samples, each scored by the LSTM for the learned ranker.

One function builds the pool for serving and for training the ranker, so the ranker is trained
on exactly the candidates it will meet (training adds the human reply and leaves out the
message's own conversation from retrieval).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from generator.clean import scrub
from generator.decode import Candidate, DecodeOptions, pad_sources, search
from generator.index import ReplyIndex
from generator.model import Encoded, Seq2Seq
from generator.ranker import Featurizer, Scores
from generator.rerank import encoded_reply_logprobs
from generator.tokenizer import BPETokenizer
from generator.types import ReplyContext
from generator.words import words

# The source kind of the bot's own acknowledgements (agent/core/grounded.py).
GROUNDED = "grounded"

MAX_REPLY_TOKENS = 40  # teacher-forced length cap: as long as any training target


@dataclass
class Pool:
    """One context's candidates: text, where it came from, and the LSTM's figures."""

    texts: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    ids: list[list[int]] = field(default_factory=list)
    logp: list[float | None] = field(default_factory=list)  # log p(reply | context)
    anti_lm: list[float | None] = field(default_factory=list)  # log p(reply | topic alone)

    def add(
        self,
        text: str,
        source: dict[str, Any],
        ids: list[int],
        logp: float | None = None,
        anti_lm: float | None = None,
    ) -> bool:
        """Add a candidate unless its words are already in the pool; True if added.

        ``logp`` where the search already has it (generated ones), ``anti_lm`` where the
        index stored it (retrieved ones); :func:`_score` fills in the rest.
        """
        key = " ".join(words(text))
        if not key or not ids or key in self._seen:
            return False
        self._seen.add(key)
        self.texts.append(text)
        self.sources.append(source)
        self.ids.append(ids[:MAX_REPLY_TOKENS])
        self.logp.append(logp)
        self.anti_lm.append(anti_lm)
        return True

    @property
    def scores(self) -> list[Scores]:
        """Every candidate's figures (:func:`pools` returns only scored pools)."""
        out = []
        for lp, lm, ids in zip(self.logp, self.anti_lm, self.ids, strict=True):
            if lp is None or lm is None:
                raise RuntimeError("a candidate of this pool has not been scored")
            out.append(Scores(lp, lm, len(ids) + 1))
        return out

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


@torch.no_grad()
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

    Retrieval, and the LSTM's scoring of what it finds, run in a second thread while the LSTM
    searches (SQLite and torch's kernels let go of the GIL): with a core free, a reply takes
    little longer than today's search and re-ranking; on a busy machine the two take turns
    as they would in one thread (docs/benchmarks.md has wall and CPU time). The contexts are
    encoded once, for the search and the scoring alike.
    """
    out = [Pool() for _ in contexts]
    src, lens = pad_sources(sources, tok.pad_id, device)
    enc = model.encode(src, lens)
    topic_only = model.encode(*pad_sources([s[:1] for s in sources], tok.pad_id, device))
    # Rows 0..B-1: the contexts; B..2B-1: the topic token alone (the anti-LM's input).
    both = enc.stacked(topic_only)

    def gather_and_score() -> None:
        _gather(tok, index, contexts, sources, out, retrieve, first, exclude)
        with torch.inference_mode():  # grad mode is per thread
            _score(model, tok, out, both, device)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrieval") as background:
        found = background.submit(gather_and_score)
        beams, samples = _search(model, tok, src, lens, enc, options)
        found.result()
    for pool, a, b in zip(out, beams, samples, strict=True):
        for c in a + b:
            pool.add(tok.decode(c.ids), {"kind": "generated"}, c.ids, c.logp)
    _score(model, tok, out, both, device)  # the generated ones' anti-LM
    return out


def _gather(
    tok: BPETokenizer,
    index: ReplyIndex | None,
    contexts: Sequence[ReplyContext],
    sources: Sequence[list[int]],
    out: list[Pool],
    retrieve: int,
    first: Sequence[str] | None,
    exclude: Sequence[str | None] | None,
) -> None:
    """Add the reference, retrieved and grounded candidates to ``out``, in that order (the
    first of two texts with the same words is kept)."""
    if first is not None:
        for pool, text in zip(out, first, strict=True):
            pool.add(text, {"kind": "reference"}, tok.encode(text))
    if index is not None and retrieve:
        for i, (pool, ctx) in enumerate(zip(out, contexts, strict=True)):
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
                pool.add(r.reply, source, tok.encode(r.reply), anti_lm=r.anti_lm)
    for pool, ctx in zip(out, contexts, strict=True):
        for text in ctx.grounded:
            pool.add(text, {"kind": GROUNDED}, tok.encode(text))


def _search(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: torch.Tensor,
    lens: torch.Tensor,
    enc: Encoded,
    options: DecodeOptions,
) -> tuple[list[list[Candidate]], list[list[Candidate]]]:
    """The LSTM's beams and ``hybrid_samples`` seeded samples for each source."""
    opts = options if options.seed is not None else replace(options, seed=0)
    return search(model, tok, src, lens, opts, opts.beam_size, opts.hybrid_samples, enc)


def _score(
    model: Seq2Seq, tok: BPETokenizer, out: list[Pool], both: Encoded, device: torch.device
) -> None:
    """Fill in every missing figure of ``out``'s candidates: log p given the context (row i of
    ``both``) and given the topic token alone (row B + i), in one packed teacher-forced pass:
    the decoder's steps are the cost, so one batch of twice the rows beats two passes."""
    missing = [
        (figures, j, owner)
        for i, p in enumerate(out)
        for figures, owner in ((p.logp, i), (p.anti_lm, len(out) + i))
        for j, value in enumerate(figures)
        if value is None
    ]
    if not missing:
        return
    values = encoded_reply_logprobs(
        model,
        tok,
        both,
        [owner for _, _, owner in missing],
        [out[owner % len(out)].ids[j] for _, j, owner in missing],
        device,
        packed=True,
    ).tolist()
    for (figures, j, _), value in zip(missing, values, strict=True):
        figures[j] = value
