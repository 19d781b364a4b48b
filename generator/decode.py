"""Batched beam search and nucleus sampling over a :class:`Seq2Seq`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from generator.model import Encoded, Seq2Seq
from generator.tokenizer import BPETokenizer

NEG_INF = float("-inf")


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


@torch.no_grad()
def beam_search(
    model: Seq2Seq, tok: BPETokenizer, src: Tensor, src_lens: Tensor, opts: DecodeOptions
) -> list[list[tuple[list[int], float]]]:
    """For each source row, up to ``beam_size`` replies (ids, normalised score), best first."""
    model.eval()
    device = src.device
    b, k = src.size(0), opts.beam_size
    enc = model.encode(src, src_lens).select(torch.arange(b, device=device).repeat_interleave(k))
    state = enc.state
    scores = torch.full((b, k), NEG_INF, device=device)
    scores[:, 0] = 0.0  # all beams start identical; only the first may expand at step 0
    hyps: list[list[int]] = [[] for _ in range(b * k)]
    last = torch.full((b * k,), tok.bos_id, dtype=torch.long, device=device)
    finished: list[list[tuple[list[int], float]]] = [[] for _ in range(b)]
    done = [False] * b
    banned = _banned(tok, device)
    vocab = tok.vocab_size
    for step in range(opts.max_tokens):
        logp, state = model.step(last, state, enc)  # (B*K, V)
        _mask(logp, hyps, step, tok, opts, banned)
        cand = (scores.view(-1, 1) + logp).view(b, k * vocab)  # (B, K*V)
        top_scores, top_idx = cand.topk(2 * k, dim=1)  # (B, 2K): room for K that don't end
        is_eos = (top_idx % vocab) == tok.eos_id
        for bi, ci in is_eos.nonzero().tolist():
            score = top_scores[bi, ci].item()
            if done[bi] or score == NEG_INF or ci >= k:
                continue  # only an <eos> among the best K counts, as in standard beam search
            src_row = bi * k + int(top_idx[bi, ci]) // vocab
            finished[bi].append(
                (hyps[src_row], score / length_penalty(len(hyps[src_row]), opts.length_alpha))
            )
            done[bi] = len(finished[bi]) >= k
        live = top_scores.masked_fill(is_eos, NEG_INF)
        scores, pick = live.topk(k, dim=1)  # (B, K)
        chosen = top_idx.gather(1, pick)  # (B, K)
        origin = (chosen // vocab + torch.arange(b, device=device).unsqueeze(1) * k).view(-1)
        last = (chosen % vocab).view(-1)
        for bi in range(b):
            if done[bi]:
                scores[bi] = NEG_INF
        state = (state[0][:, origin], state[1][:, origin])
        origin_list, last_list = origin.tolist(), last.tolist()
        hyps = [hyps[o] + [t] for o, t in zip(origin_list, last_list, strict=True)]
        if all(done):
            break
    flat_scores = scores.view(-1).tolist()
    for row, score in enumerate(flat_scores):
        bi = row // k
        if score != NEG_INF and len(finished[bi]) < k:
            finished[bi].append(
                (hyps[row], score / length_penalty(len(hyps[row]), opts.length_alpha))
            )
    return [sorted(f, key=lambda x: -x[1])[:k] for f in finished]


@torch.no_grad()
def sample(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: Tensor,
    src_lens: Tensor,
    opts: DecodeOptions,
    num: int = 1,
) -> list[list[tuple[list[int], float]]]:
    """``num`` nucleus samples per source row (ids, mean log-probability)."""
    model.eval()
    device = src.device
    b = src.size(0)
    gen = torch.Generator(device=device)
    if opts.seed is not None:
        gen.manual_seed(opts.seed)
    else:
        gen.seed()
    enc: Encoded = model.encode(src, src_lens).select(
        torch.arange(b, device=device).repeat_interleave(num)
    )
    state = enc.state
    n = b * num
    last = torch.full((n,), tok.bos_id, dtype=torch.long, device=device)
    hyps: list[list[int]] = [[] for _ in range(n)]
    total = torch.zeros(n, device=device)
    alive = torch.ones(n, dtype=torch.bool, device=device)
    banned = _banned(tok, device)
    for step in range(opts.max_tokens):
        logp, state = model.step(last, state, enc)
        _mask(logp, hyps, step, tok, opts, banned)
        probs = (logp / opts.temperature).softmax(-1)
        sorted_p, order = probs.sort(-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < opts.top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        choice = torch.multinomial(sorted_p, 1, generator=gen)  # (n, 1)
        nxt = order.gather(1, choice).squeeze(1)
        total += torch.where(alive, logp.gather(1, nxt.unsqueeze(1)).squeeze(1), 0.0)
        for row, t in enumerate(nxt.tolist()):
            if alive[row] and t != tok.eos_id:
                hyps[row].append(t)
        alive &= nxt != tok.eos_id
        last = nxt
        if not alive.any():
            break
    out: list[list[tuple[list[int], float]]] = [[] for _ in range(b)]
    for row, hyp in enumerate(hyps):
        out[row // num].append((hyp, total[row].item() / max(1, len(hyp) + 1)))
    return [sorted(o, key=lambda x: -x[1]) for o in out]


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
    """Candidates for each encoded context, by beam search or (``opts.sample``) sampling."""
    device = device or next(model.parameters()).device
    src, lens = pad_sources(sources, tok.pad_id, device)
    if opts.sample:
        return sample(model, tok, src, lens, opts, num=opts.beam_size)
    return beam_search(model, tok, src, lens, opts)
