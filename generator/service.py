"""The loaded generator the agent calls: find candidates, rank, fit the tweet, guard, count
rejections.

Where the model folder holds a reply index and a ranker (``generator index``), candidates are
the hybrid fallback's (generator/hybrid.py: retrieved, grounded and generated, one learned
ranker); otherwise the LSTM's own, ordered by MMI re-ranking. The model, its index and its
ranker load, version and swap as one unit.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from generator import checkpoint, guard
from generator.checkpoint import INDEX_FILE, RANKER_FILE
from generator.clean import scrub
from generator.decode import DecodeOptions, generate
from generator.hybrid import GROUNDED, Pool, feature_rows, pools
from generator.index import ReplyIndex, ReplyIndexError
from generator.model import Seq2Seq
from generator.ranker import Featurizer, Ranker, RankerError
from generator.tokenizer import BPETokenizer
from generator.tweetlen import fit
from generator.types import Generated, ReplyContext


@dataclass(frozen=True)
class Ranked:
    """A candidate reply, best first in its list, and where it came from (``Generated.source``)."""

    text: str
    source: dict[str, Any]


class Seq2SeqReplyGenerator:
    """A trained seq2seq (with its reply index and ranker, when it has them) behind a lock;
    ``reply`` is safe to call from several threads."""

    def __init__(
        self,
        model: Seq2Seq,
        tok: BPETokenizer,
        *,
        version: str,
        options: DecodeOptions | None = None,
        context_turns: int = 3,
        max_source_tokens: int = 96,
        default_topic: str | None = None,
        device: torch.device | None = None,
        index: ReplyIndex | None = None,
        ranker: Ranker | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.tok = tok
        self.version = version
        self.options = options or DecodeOptions()
        self.context_turns = context_turns
        self.max_source_tokens = max_source_tokens
        self.default_topic = default_topic
        self.index = index
        self.ranker = ranker
        self.featurizer = Featurizer(index) if index is not None else None
        self.rejections: Counter[str] = Counter()  # replies refused, by the reason returned
        self.candidate_rejections: Counter[str] = Counter()  # every refused beam candidate
        self._lock = threading.Lock()

    def source(self, context: ReplyContext) -> list[int]:
        """The encoder input for ``context``: topic token, then its last turns, scrubbed.

        A topic the model never saw (a bot's script says "artificial intelligence", the model
        knows "ai") reads as the model's own topic where it has exactly one: the ranker was
        trained on the topics the model knows, and under <t:none> its features shift so far
        that it picked rambling replies (docs/benchmarks.md, hybrid fallback).
        """
        turns = [scrub(t) for t in context.history[-self.context_turns :]]
        topic = context.topic if self.tok.knows_topic(context.topic) else None
        return self.tok.encode_context(turns, topic or self.default_topic, self.max_source_tokens)

    def reply(self, context: ReplyContext) -> Generated:
        """The best candidate that fits ``max_chars`` and passes the guard, else the reason."""
        return self.reply_batch([context])[0]

    def reply_batch(self, contexts: Sequence[ReplyContext]) -> list[Generated]:
        """Replies for many contexts in one batched search (throughput benchmarks, eval)."""
        return self.choose(contexts, self.candidates(contexts))

    @property
    def hybrid(self) -> bool:
        """Whether replies come from the hybrid fallback (index and ranker, retrieval on)."""
        return self.index is not None and self.ranker is not None and self.options.retrieve > 0

    def candidates(self, contexts: Sequence[ReplyContext]) -> list[list[Ranked]]:
        """Unguarded candidate replies for each context, best first."""
        if not contexts:
            return []
        if self.hybrid:
            return self._ranked_pools(contexts)
        sources = [self.source(c) for c in contexts]
        with self._lock, torch.inference_mode():
            found = generate(self.model, self.tok, sources, self.options, self.device)
        return [
            [
                Ranked(self.tok.decode(ids), {"kind": "generated", "score": round(score, 3)})
                for ids, score in cands
            ]
            for cands in found
        ]

    def pools(
        self,
        contexts: Sequence[ReplyContext],
        *,
        index: ReplyIndex | None = None,
        options: DecodeOptions | None = None,
        retrieve: int | None = None,
        first: Sequence[str] | None = None,
        exclude: Sequence[str | None] | None = None,
    ) -> list[Pool]:
        """The hybrid fallback's candidate pools for ``contexts`` (generator/hybrid.py), with
        this generator's model and, unless given, its index and decoding options."""
        options = options or self.options
        with self._lock, torch.inference_mode():
            return pools(
                self.model,
                self.tok,
                index or self.index,
                contexts,
                [self.source(c) for c in contexts],
                options,
                self.device,
                retrieve=options.retrieve if retrieve is None else retrieve,
                first=first,
                exclude=exclude,
            )

    def _ranked_pools(self, contexts: Sequence[ReplyContext]) -> list[list[Ranked]]:
        assert self.featurizer is not None and self.ranker is not None
        out = []
        for ctx, pool in zip(contexts, self.pools(contexts), strict=True):
            rows = feature_rows(self.featurizer, ctx, pool)
            scored = sorted(
                zip(self.ranker.score(rows), rows, pool.texts, pool.sources, strict=True),
                key=lambda x: -x[0],
            )
            out.append(
                [
                    Ranked(
                        text,
                        {
                            **source,
                            "score": round(score, 3),
                            "features": self.ranker.top_features(row),
                        },
                    )
                    for score, row, text, source in scored
                ]
            )
        return out

    def ranked(self, context: ReplyContext) -> list[str]:
        """Every candidate that fits and passes the guard, best first (``reply`` is the first).

        A query, not a reply: the rejection counters are left alone.
        """
        out: list[str] = []
        for _, fitted, reason in _judged(context, self.candidates([context])[0]):
            if reason is None and fitted not in out:
                out.append(fitted)
        return out

    def explain(self, context: ReplyContext) -> list[tuple[Ranked, str | None]]:
        """Every candidate, best first, with the reason the guard refuses it (None: it may
        be sent). A query for people (``generator chat --show-candidates``): no counters."""
        judged = _judged(context, self.candidates([context])[0])
        return [(cand, reason) for cand, _, reason in judged if isinstance(cand, Ranked)]

    def choose(
        self, contexts: Sequence[ReplyContext], candidates: Sequence[Sequence[Ranked | str]]
    ) -> list[Generated]:
        """For each context, its first candidate that fits and passes the guard, else the
        first candidate's reason; refusals are counted."""
        with self._lock:  # the counters are plain ``Counter`` objects
            return [self._first_passing(c, t) for c, t in zip(contexts, candidates, strict=True)]

    def _first_passing(self, ctx: ReplyContext, cands: Sequence[Ranked | str]) -> Generated:
        first_reason: str | None = None
        for cand, fitted, reason in _judged(ctx, cands):
            if reason is None:
                return Generated(fitted, source=cand.source if isinstance(cand, Ranked) else None)
            self.candidate_rejections[reason] += 1
            first_reason = first_reason or reason
        reason = first_reason or "empty"
        self.rejections[reason] += 1
        return Generated(None, reason)

    def stats(self) -> dict[str, Any]:
        """Counters as plain dicts, for logging or a health endpoint."""
        with self._lock:
            return {
                "version": self.version,
                "rejections": dict(self.rejections),
                "candidate_rejections": dict(self.candidate_rejections),
            }


def _own_lines_only(ctx: ReplyContext, cands: Sequence[Ranked | str]) -> str | None:
    """Why the bot answers with its own lines (its grounded acknowledgements) alone, if it
    does, as the reason the rest are refused; None when every candidate may compete.

    - ``persona``: a bot asked about itself ("do you have any brothers or sisters?", "do you
      like music?"). A human reply to such a question is the replier's own life, in more
      forms than the persona's patterns can list ("A sister and a brother :) wbu?" has no
      "I" in it; "Yes, definitely. I listen to anything"); the bot's own lines answer as a
      bot.
    - ``stance``: a bot with a stance, a message that argues a side. Retrieved and generated
      replies carry other people's opinions, and the stance model cannot read them reliably
      (it reads "the AI is bad stuff" as favor; docs/benchmarks.md, "Stance"): on a debate
      message, "Exactly what I'm thinking" to a skeptic, picked for its fit, would argue
      against the bot's own side.
    """
    if not any(isinstance(c, Ranked) and _kind(c.source) == GROUNDED for c in cands):
        return None
    if ctx.about_bot and ctx.persona.kind == "bot":
        return "persona"
    if ctx.persona.stance is not None and ctx.side != "none":
        return "stance"
    return None


def _own_lines_first(
    ctx: ReplyContext, cands: Sequence[Ranked | str]
) -> tuple[Sequence[Ranked | str], str | None]:
    """``cands`` and why the bot says only its own lines (None: it does not); if it does,
    those lines first, in the order the agent gave them (equally apt lines: ranked, one
    would win for everybody)."""
    why = _own_lines_only(ctx, cands)
    if why is None:
        return cands, None
    order = {text: i for i, text in enumerate(ctx.grounded)}

    def place(cand: Ranked | str) -> int:
        if isinstance(cand, Ranked) and _kind(cand.source) == GROUNDED:
            return order.get(cand.text, len(order))
        return len(order) + 1

    return sorted(cands, key=place), why


def _judged(
    ctx: ReplyContext, cands: Sequence[Ranked | str]
) -> Iterator[tuple[Ranked | str, str, str | None]]:
    """Each candidate in the order it is offered (the bot's own lines first where it says only
    those), cut to fit, with the reason it is refused (None: it may be sent). One sequence for
    the reply, ``ranked`` and ``explain``, so the three never disagree."""
    cands, own = _own_lines_first(ctx, cands)
    for cand in cands:
        text, source = (cand, None) if isinstance(cand, str) else (cand.text, cand.source)
        fitted, reason = _checked(ctx, text, source, own)
        yield cand, fitted, reason


def _kind(source: dict[str, Any] | None) -> str | None:
    return source.get("kind") if source else None


def _checked(
    ctx: ReplyContext,
    text: str,
    source: dict[str, Any] | None = None,
    own_lines_only: str | None = None,
) -> tuple[str, str | None]:
    """The candidate cut to fit ``ctx.max_chars``, and why the guard refuses it (or None);
    ``own_lines_only``: every candidate but the grounded ones is refused, for that reason.

    The stance model reads other people's replies, never the bot's own lines: those are
    written from its stance, and a fair-minded concession ("That's a real problem... I still
    see more upside than harm") reads to the model as the other side."""
    fitted = fit(text, ctx.max_chars)
    if text and not fitted:
        return fitted, "too_long"
    reason = guard.check(fitted, ctx.previous_bot_reply)
    if reason is None and ctx.persona.breaks(fitted):
        return fitted, "persona"
    if reason is not None or _kind(source) == GROUNDED:
        return fitted, reason
    if own_lines_only is not None:
        return fitted, own_lines_only
    if ctx.side_of is not None and ctx.persona.contradicts(ctx.side_of(fitted)):
        return fitted, "stance"
    return fitted, None


def quantize_model(model: Seq2Seq) -> Seq2Seq:
    """Dynamic int8 quantization of the LSTMs and Linear layers: ~3x faster CPU decoding.

    torch marks ``torch.ao.quantization`` deprecated in favour of the separate torchao
    package; the eager API still works in the pinned torch, so we silence that one warning
    rather than add a dependency for a few lines.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DeprecationWarning and UserWarning, both "deprecated"
        return torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
        )


def load(
    path: str | Path,
    *,
    device: str | None = None,
    quantize: bool | None = None,
    threads: int | None = None,
    **decoding: Any,
) -> Seq2SeqReplyGenerator:
    """Load a model dir (or checkpoint file) into a ready :class:`Seq2SeqReplyGenerator`.

    ``decoding`` overrides :class:`DecodeOptions` fields (``beam_size=``, ``sample=``, ...);
    ``quantize`` applies dynamic int8 quantization to the LSTMs and Linear layers; the
    default (None) does so on CPU, where it makes decoding ~3x faster. ``threads`` sets
    torch's intra-op threads for the whole process (None leaves them): a serving process
    wants 1 (``THREADBOT_GENERATOR_THREADS``, docs/generator.md).
    Raises :class:`generator.errors.ModelNotFoundError` naming the path and how to create it.
    """
    ckpt = checkpoint.read(path)
    model, tok = checkpoint.build(ckpt)
    unknown = set(decoding) - set(DecodeOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(
            f"unknown decoding options {sorted(unknown)}; allowed: "
            f"{', '.join(DecodeOptions.__dataclass_fields__)}"
        )
    options = replace(DecodeOptions(), **decoding)
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    dev = torch.device(device or "cpu")
    if quantize is None:
        quantize = dev.type == "cpu"
    if quantize:
        if dev.type != "cpu":
            raise ValueError("quantize=True is for CPU decoding only")
        model = quantize_model(model)
    data = checkpoint.data_config(ckpt)
    topics = data.topics
    index, ranker = load_fallback(Path(path))
    return Seq2SeqReplyGenerator(
        model,
        tok,
        version=f"{ckpt.get('name', 'generator')}@{checkpoint.fingerprint(path)}",
        options=options,
        context_turns=data.context_turns,
        max_source_tokens=data.max_source_tokens,
        default_topic=topics[0] if len(topics) == 1 else None,
        device=dev,
        index=index,
        ranker=ranker,
    )


def load_fallback(path: Path) -> tuple[ReplyIndex | None, Ranker | None]:
    """The reply index and ranker of a model folder: both, or neither (a checkpoint file, or
    a folder built before the hybrid fallback). One without the other is an error, raised
    here, at load, rather than a traceback on every turn."""
    if not path.is_dir():
        return None, None
    index_file, ranker_file = path / INDEX_FILE, path / RANKER_FILE
    if not index_file.exists() and not ranker_file.exists():
        return None, None
    if not ranker_file.exists():
        raise RankerError(
            f"{path} has {INDEX_FILE} but no {RANKER_FILE}: rebuild both with "
            "`threadbot generator index --model DIR`"
        )
    if not index_file.exists():
        raise ReplyIndexError(index_file, "the folder has a ranker but no index")
    ranker = Ranker.load(ranker_file)  # first: a bad ranker leaves no index open
    return ReplyIndex(index_file), ranker
