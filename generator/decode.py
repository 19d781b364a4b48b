"""Batched beam search and nucleus sampling over a :class:`Seq2Seq` of either kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from generator.model import Encoded, Seq2Seq
from generator.rerank import rerank
from generator.tokenizer import BPETokenizer

NEG_INF = float("-inf")
NUCLEUS_TOP = 64  # tokens a nucleus is drawn from (top-p rarely needs more at temperature < 1)


@dataclass(frozen=True)
class DecodeOptions:
    """How replies are searched for; validated so a bad CLI value fails with a message."""

    beam_size: int = 4  # 4 beams: most of the gain over greedy, cheap on one CPU core
    max_tokens: int = 30  # a tweet-sized reply; also bounds latency
    min_tokens: int = 2  # forbids the empty or one-token "ok" replies
    length_alpha: float = 0.6  # GNMT length penalty; 0 favours short generic replies
    no_repeat_ngram: int = 3  # a reply never repeats a 3-gram ("i think i think i think")
    sample: bool = False  # nucleus sampling instead of beam search
    temperature: float = 0.8  # < 1 sharpens sampling toward likely tokens
    top_p: float = 0.9  # sample only from the smallest set holding 90% of the mass
    seed: int | None = None  # sampling seed; None draws from torch's global generator
    # Re-ranking (generator/rerank.py): beam candidates plus nucleus samples, ordered by
    # log p(reply|context) - mmi_weight * log p(reply|no context) + length_bonus * tokens.
    # Weights tuned by bench/generator_mmi_tune.py on chitchat validation outside the `ai`
    # topic (docs/benchmarks.md): generic-reply rate 36 % -> 7 %, distinct-2 0.22 -> 0.33.
    # On by default: what a person in the thread reads matters more than the ~35 ms it adds.
    # It demotes any reply likely without context, a template an admin taught for many prompts
    # included; THREADBOT_GENERATOR_RERANK=false (or --no-rerank) turns it off.
    rerank: bool = True
    num_samples: int = 4  # 8 gained little over 4 and costs latency
    mmi_weight: float = 0.75  # 1.0 (pure PMI) rewards rambling, 0.5 leaves 14 % generic
    length_bonus: float = 1.0  # nats per token: the MMI sum still prefers short replies
    max_drop: float = 2.0  # nats/token below the most fluent candidate: ranked last (garbled)
    # The hybrid fallback (generator/hybrid.py), where the model folder holds a reply index and
    # a ranker: this many retrieved human replies join the candidates; 0 leaves retrieval and
    # the learned ranker out (MMI re-ranking then orders the LSTM's own candidates).
    retrieve: int = 12
    # Nucleus samples among the hybrid's candidates (the beams always join). 0: over 399 `ai`
    # validation groups the ranker picked none of them, and they cost a third of the search
    # (docs/benchmarks.md); retrieved replies bring the variety they brought.
    hybrid_samples: int = 0

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if not 0 <= self.min_tokens <= self.max_tokens:
            raise ValueError(f"min_tokens must be in [0, max_tokens], got {self.min_tokens}")
        if self.length_alpha < 0:
            raise ValueError(f"length_alpha must be >= 0, got {self.length_alpha}")
        if self.no_repeat_ngram < 0:
            raise ValueError(f"no_repeat_ngram must be >= 0 (0 = off), got {self.no_repeat_ngram}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.num_samples < 0:
            raise ValueError(f"num_samples must be >= 0, got {self.num_samples}")
        if self.hybrid_samples < 0:
            raise ValueError(f"hybrid_samples must be >= 0, got {self.hybrid_samples}")
        if self.retrieve < 0:
            raise ValueError(f"retrieve must be >= 0 (0 = off), got {self.retrieve}")
        if self.max_drop < 0:
            raise ValueError(f"max_drop must be >= 0, got {self.max_drop}")
        if not 0 <= self.mmi_weight <= 1:
            raise ValueError(f"mmi_weight must be in [0, 1], got {self.mmi_weight}")


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ((5 + len) / 6) ** alpha; dividing by it stops beams preferring short replies."""
    return ((5 + length) / 6) ** alpha


def _blocked(hyp: list[int], n: int) -> list[int]:
    """Tokens that would repeat an n-gram already in ``hyp``."""
    if n <= 0 or len(hyp) < n:
        return []
    prefix = tuple(hyp[len(hyp) - n + 1 :])
    return [hyp[i + n - 1] for i in range(len(hyp) - n + 1) if tuple(hyp[i : i + n - 1]) == prefix]


def _mask(
    logp: Tensor,
    hyps: Sequence[list[int]],
    step: int,
    tok: BPETokenizer,
    opts: DecodeOptions,
    banned: Tensor,
) -> None:
    """In place: forbid specials, early <eos> and repeated n-grams."""
    logp.index_fill_(1, banned, NEG_INF)
    if step < opts.min_tokens:
        logp[:, tok.eos_id] = NEG_INF
    if opts.no_repeat_ngram:
        for row, hyp in enumerate(hyps):
            for t in _blocked(hyp, opts.no_repeat_ngram):
                logp[row, t] = NEG_INF


def _banned(tok: BPETokenizer, device: torch.device) -> Tensor:
    return torch.tensor(tok.banned_ids, device=device)


@dataclass(frozen=True)
class Candidate:
    """A reply's ids with its summed log p(reply + <eos> | context) and its search score."""

    ids: list[int]
    logp: float  # the model's log-probability of the tokens chosen, <eos> included
    score: float  # beams: logp / GNMT length penalty; samples: logp per token


class _Beams:
    """The beam-search half of :func:`search`: ``k`` beams for each of ``b`` sources."""

    def __init__(self, b: int, k: int, tok: BPETokenizer, alpha: float, device: torch.device):
        self.b, self.k, self.tok, self.alpha = b, k, tok, alpha
        self.scores = torch.full((b, k), NEG_INF, device=device)
        if k:  # all beams start identical; only the first may expand at step 0
            self.scores[:, 0] = 0.0
        self.hyps: list[list[int]] = [[] for _ in range(b * k)]
        self.finished: list[list[Candidate]] = [[] for _ in range(b)]
        self.done = [b == 0 or k == 0] * b

    def _finish(self, bi: int, hyp: list[int], logp: float) -> None:
        score = logp / length_penalty(len(hyp), self.alpha)
        self.finished[bi].append(Candidate(hyp, logp, score))

    def advance(self, logp: Tensor) -> tuple[list[int], list[int]]:
        """Extend every beam by one token: (rows each new beam came from, its new token).

        The 2K best extensions of a source are among its beams' 2K best next tokens each, so
        only those (B*K, 2K) are ranked: a top-k over each row is cheaper than one over the
        flattened (K, V) grid. The bookkeeping runs on the 2K as Python numbers: a dozen
        small tensor operations a step cost more than the numbers they move.
        """
        b, k, eos = self.b, self.k, self.tok.eos_id
        width = min(2 * k, logp.size(1))
        top_logp, top_tokens = logp.topk(width, dim=1)  # (B*K, 2K)
        cand = (self.scores.view(-1, 1) + top_logp).view(b, k * width)  # (B, K*2K)
        top_scores, top_idx = cand.topk(2 * k, dim=1)  # (B, 2K): room for K that don't end
        top_token = top_tokens.view(b, k * width).gather(1, top_idx)
        origin: list[int] = []
        last: list[int] = []
        scores: list[float] = []
        rows = zip(top_scores.tolist(), top_idx.tolist(), top_token.tolist(), strict=True)
        for bi, (row_scores, row_idx, row_tokens) in enumerate(rows):
            kept = 0
            for ci, (score, idx, token) in enumerate(
                zip(row_scores, row_idx, row_tokens, strict=True)
            ):
                beam = idx // width
                if token == eos:
                    # Only an <eos> among the best K counts, as in standard beam search.
                    if not self.done[bi] and score != NEG_INF and ci < k:
                        self._finish(bi, self.hyps[bi * k + beam], score)
                        self.done[bi] = len(self.finished[bi]) >= k
                elif kept < k:  # the best K that don't end live on (the scores are sorted)
                    kept += 1
                    origin.append(bi * k + beam)
                    last.append(token)
                    scores.append(score)
            if self.done[bi]:
                scores[-k:] = [NEG_INF] * k
        self.scores = torch.tensor(scores, device=logp.device).view(b, k)
        self.hyps = [self.hyps[o] + [t] for o, t in zip(origin, last, strict=True)]
        return origin, last

    def results(self) -> list[list[Candidate]]:
        """Finished beams (live ones fill up to ``k``), best normalised score first."""
        for row, score in enumerate(self.scores.view(-1).tolist()):
            bi = row // self.k
            if score != NEG_INF and len(self.finished[bi]) < self.k:
                self._finish(bi, self.hyps[row], score)
        return [sorted(f, key=lambda c: -c.score)[: self.k] for f in self.finished]


class _Samples:
    """The nucleus-sampling half of :func:`search`: ``n`` samples for each of ``b`` sources.

    Sample ``j`` of every source reads the same pre-drawn uniform stream, so a context gets
    the same samples whether it is decoded alone or in a batch (replies are reproducible).
    """

    def __init__(self, b: int, n: int, opts: DecodeOptions, device: torch.device) -> None:
        self.b, self.n, self.opts = b, n, opts
        gen = torch.Generator()
        if opts.seed is not None:
            gen.manual_seed(opts.seed)
        else:
            gen.seed()
        uniform = torch.rand(n, opts.max_tokens, generator=gen)
        self.uniform = uniform.repeat(b, 1).to(device)  # (B*N, max_tokens)
        self.hyps: list[list[int]] = [[] for _ in range(b * n)]
        self.total = torch.zeros(b * n, device=device)
        self.alive = [True] * (b * n)

    def advance(self, logp: Tensor, step: int, eos: int) -> list[int]:
        """Draw each sample's next token by inverse-CDF over its nucleus."""
        # The nucleus is cut from the NUCLEUS_TOP most likely tokens: a full sort of the
        # vocabulary at every step would cost as much as the LSTM step itself. They are found
        # on the log-probabilities (the same order): top-k over the probabilities, most of
        # them tiny or subnormal, is slower.
        order = logp.topk(min(NUCLEUS_TOP, logp.size(1)), dim=-1).indices
        sorted_p = (logp / self.opts.temperature).softmax(-1).gather(1, order)
        keep = sorted_p.cumsum(-1) - sorted_p < self.opts.top_p  # always keeps the top token
        cdf = (sorted_p * keep).cumsum(-1)
        u = self.uniform[:, step : step + 1] * cdf[:, -1:]
        choice = torch.searchsorted(cdf, u).clamp(max=cdf.size(1) - 1)
        nxt = order.gather(1, choice)
        alive = torch.tensor(self.alive, device=logp.device)
        self.total += torch.where(alive, logp.gather(1, nxt).squeeze(1), 0.0)
        tokens = nxt.view(-1).tolist()
        for row, t in enumerate(tokens):
            if self.alive[row] and t != eos:
                self.hyps[row].append(t)
            else:
                self.alive[row] = False
        return tokens

    def results(self, keep_unfinished: bool) -> list[list[Candidate]]:
        """Samples that ended (all, with ``keep_unfinished``), best mean log-probability first."""
        out: list[list[Candidate]] = [[] for _ in range(self.b)]
        rows = zip(self.hyps, self.total.tolist(), self.alive, strict=True)
        for row, (hyp, total, unfinished) in enumerate(rows):
            if keep_unfinished or not unfinished:
                out[row // self.n].append(Candidate(hyp, total, total / (len(hyp) + 1)))
        return [sorted(o, key=lambda c: -c.score) for o in out]


@torch.no_grad()
def search(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: Tensor,
    src_lens: Tensor,
    opts: DecodeOptions,
    beams: int,
    samples: int,
    encoded: Encoded | None = None,
) -> tuple[list[list[Candidate]], list[list[Candidate]]]:
    """``beams`` beam-search replies and ``samples`` nucleus samples for each source row.

    Both run in one decoding loop: every step is a single batched decoder call over the beams
    and the samples together, so the samples cost far less than a second search would.
    ``encoded``: ``src`` already encoded by the caller, who needs the encoding again.
    """
    model.eval()
    device = src.device
    b = src.size(0)
    rows = torch.arange(b, device=device)
    enc = encoded if encoded is not None else model.encode(src, src_lens)
    enc = enc.select(torch.cat([rows.repeat_interleave(beams), rows.repeat_interleave(samples)]))
    state = model.start(enc)
    beam = _Beams(b, beams, tok, opts.length_alpha, device)
    draw = _Samples(b, samples, opts, device)
    nb = b * beams
    last = torch.full((nb + b * samples,), tok.bos_id, dtype=torch.long, device=device)
    banned = _banned(tok, device)
    sample_rows = list(range(nb, nb + b * samples))
    for step in range(opts.max_tokens):
        logp, state = model.step(last, state, enc)  # (B*K + B*N, V)
        _mask(logp, beam.hyps + draw.hyps, step, tok, opts, banned)
        origin: list[int] = []
        tokens: list[int] = []
        if beams:
            origin, tokens = beam.advance(logp[:nb])
        if samples:
            tokens = tokens + draw.advance(logp[nb:], step, tok.eos_id)
            origin = origin + sample_rows
        last = torch.tensor(tokens, device=device)
        index = torch.tensor(origin, device=device)
        state = model.reorder(state, index)
        if beams and all(beam.done):
            break  # samples still running are longer than every beam: dropped, not waited for
        if not beams and not any(draw.alive):
            break
    return beam.results(), draw.results(keep_unfinished=not beams)


def beam_search(
    model: Seq2Seq, tok: BPETokenizer, src: Tensor, src_lens: Tensor, opts: DecodeOptions
) -> list[list[tuple[list[int], float]]]:
    """For each source row, up to ``beam_size`` replies (ids, normalised score), best first."""
    found, _ = search(model, tok, src, src_lens, opts, opts.beam_size, 0)
    return [[(c.ids, c.score) for c in cands] for cands in found]


def sample(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: Tensor,
    src_lens: Tensor,
    opts: DecodeOptions,
    num: int = 1,
) -> list[list[tuple[list[int], float]]]:
    """``num`` nucleus samples per source row (ids, mean log-probability)."""
    _, found = search(model, tok, src, src_lens, opts, 0, num)
    return [[(c.ids, c.score) for c in cands] for cands in found]


def pad_sources(
    sources: Sequence[list[int]], pad_id: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Pad encoder inputs into (B, S) ids and (B,) lengths."""
    s = max(len(x) for x in sources)
    src = torch.full((len(sources), s), pad_id, dtype=torch.long)
    for i, ids in enumerate(sources):
        src[i, : len(ids)] = torch.tensor(ids)
    return src.to(device), torch.tensor([len(x) for x in sources])


def generate(
    model: Seq2Seq,
    tok: BPETokenizer,
    sources: Sequence[list[int]],
    opts: DecodeOptions,
    device: torch.device | None = None,
) -> list[list[tuple[list[int], float]]]:
    """Candidates (ids, score) for each encoded context, best first.

    Beam search (or ``opts.sample``: ``beam_size`` nucleus samples); with ``opts.rerank``,
    ``num_samples`` seeded samples join the beams and all are re-ranked by the MMI score.
    """
    device = device or next(model.parameters()).device
    src, lens = pad_sources(sources, tok.pad_id, device)
    if opts.sample:
        return sample(model, tok, src, lens, opts, num=opts.beam_size)
    if not opts.rerank:
        return beam_search(model, tok, src, lens, opts)
    if opts.seed is None:  # re-ranked replies are reproducible: the samples are seeded too
        opts = replace(opts, seed=0)
    beams, samples = search(model, tok, src, lens, opts, opts.beam_size, opts.num_samples)
    found = [[(c.ids, c.logp) for c in a + s] for a, s in zip(beams, samples, strict=True)]
    return rerank(
        model, tok, sources, found, opts.mmi_weight, opts.length_bonus, device, opts.max_drop
    )
