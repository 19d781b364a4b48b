"""Mutual-information re-ranking of candidate replies (Li et al. 2016, the anti-LM form).

Beam search picks the reply most likely given the message, and the replies most likely given
*any* message ("i don't know", "that's true") win that contest. Re-ranking scores each
candidate by how much more likely it is given this context than given none:

    score = log p(reply | context) - mmi_weight * log p(reply | empty context)
            + length_bonus * tokens

The same seq2seq with only the topic token as its input serves as the reply language model,
so no second model is needed. Both terms are computed teacher-forced, in batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from generator.model import Encoded, Seq2Seq
from generator.tokenizer import BPETokenizer

Candidates = list[list[tuple[list[int], float]]]  # per context: (reply ids, a score)
ROWS_PER_PASS = 128  # teacher-forced rows per forward pass: bounds the (rows, T, V) logits


def _padded(rows: Sequence[list[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    src = torch.full((len(rows), max(len(r) for r in rows)), pad_id, dtype=torch.long)
    for i, ids in enumerate(rows):
        src[i, : len(ids)] = torch.tensor(ids)
    return src, torch.tensor([len(r) for r in rows])


def _distinct_prefixes(owner: Sequence[int], replies: Sequence[list[int]]) -> tuple[Tensor, Tensor]:
    """Which teacher-forced positions need their own output distribution.

    Position ``t`` of reply ``i`` predicts its next token from ``<bos> + replies[i][:t]``;
    replies of one context that share that prefix share the distribution (beam candidates
    mostly differ only at the end). Returns a (R, T) mask of each distinct prefix's first
    position and, for every position, the row of that prefix among the masked ones in
    row-major order (0 on padding).
    """
    width = max(len(r) for r in replies) + 1
    first: list[int] = []
    index = [[0] * width for _ in replies]
    nodes: dict[tuple[int, int], int] = {}  # (parent prefix or -1 - context, next token)
    for i, (o, reply) in enumerate(zip(owner, replies, strict=True)):
        key = (-1 - o, 0)
        for t in range(len(reply) + 1):
            node = nodes.setdefault(key, len(nodes))
            if node == len(first):
                first.append(i * width + t)
            index[i][t] = node
            if t < len(reply):
                key = (node, reply[t])
    keep = torch.zeros(len(replies) * width, dtype=torch.bool)
    keep[first] = True
    return keep.view(len(replies), width), torch.tensor(index)


@torch.no_grad()
def reply_logprobs(
    model: Seq2Seq,
    tok: BPETokenizer,
    sources: Sequence[list[int]],
    owner: Sequence[int],
    replies: Sequence[list[int]],
    device: torch.device,
    packed: bool = False,
) -> Tensor:
    """Summed log p(reply + <eos> | sources[owner[i]]) for every reply, teacher-forced.

    The output layer and softmax run once per distinct prefix; ``packed`` runs the decoder
    over real positions only (see :meth:`Seq2Seq.teacher_forced`).
    """
    src, lens = _padded(sources, tok.pad_id)
    return encoded_reply_logprobs(
        model, tok, model.encode(src.to(device), lens), owner, replies, device, packed
    )


@torch.no_grad()
def encoded_reply_logprobs(
    model: Seq2Seq,
    tok: BPETokenizer,
    enc: Encoded,
    owner: Sequence[int],
    replies: Sequence[list[int]],
    device: torch.device,
    packed: bool = False,
) -> Tensor:
    """:func:`reply_logprobs` given the sources' encoding (``owner`` indexes its rows), for a
    caller that has already encoded them."""
    out = torch.empty(len(replies))
    for start in range(0, len(replies), ROWS_PER_PASS):
        part = replies[start : start + ROWS_PER_PASS]
        part_owner = owner[start : start + ROWS_PER_PASS]
        rows = torch.tensor(part_owner, device=device)
        tgt_in, lengths = _padded([[tok.bos_id, *r] for r in part], tok.pad_id)
        tgt_out, _ = _padded([[*r, tok.eos_id] for r in part], tok.pad_id)
        keep, index = _distinct_prefixes(part_owner, part)
        logits = model.teacher_forced(
            enc.select(rows), tgt_in.to(device), keep.to(device), lengths if packed else None
        )
        tgt_out = tgt_out.to(device)
        picked = logits.log_softmax(-1)[index.to(device), tgt_out]  # (R, T)
        out[start : start + len(part)] = picked.masked_fill(tgt_out == tok.pad_id, 0.0).sum(1)
    return out


def mmi_scores(
    logp: Tensor, logp_lm: Tensor, lengths: Tensor, mmi_weight: float, length_bonus: float
) -> Tensor:
    """The re-ranking score of each candidate (higher is better)."""
    return logp - mmi_weight * logp_lm + length_bonus * lengths


def rerank(
    model: Seq2Seq,
    tok: BPETokenizer,
    sources: Sequence[list[int]],
    candidates: Candidates,
    mmi_weight: float,
    length_bonus: float,
    device: torch.device,
    max_drop: float = float("inf"),
) -> Candidates:
    """Each context's candidates, deduplicated and sorted by :func:`mmi_scores`.

    A candidate whose mean log-probability per token is more than ``max_drop`` nats below the
    context's most fluent candidate goes after all the others: the anti-LM term would favour
    it for being unlikely anywhere, which is what a garbled sample is too.

    ``candidates`` carry log p(reply + <eos> | context), which the search already summed;
    only the reply-alone term is computed here, teacher-forced with the topic token as the
    whole input (so the language model is conditioned on the same topic as the reply).
    """
    unique = [
        list({tuple(ids): (ids, lp) for ids, lp in cands if ids}.values()) for cands in candidates
    ]
    owner = [ci for ci, cands in enumerate(unique) for _ in cands]
    out: Candidates = [[] for _ in candidates]
    if not owner:
        return out
    replies = [ids for cands in unique for ids, _ in cands]
    logp = torch.tensor([lp for cands in unique for _, lp in cands])
    logp_lm = (
        reply_logprobs(model, tok, [s[:1] for s in sources], owner, replies, device)
        if mmi_weight
        else torch.zeros_like(logp)
    )
    lengths = torch.tensor([len(r) + 1.0 for r in replies])
    scores = mmi_scores(logp, logp_lm, lengths, mmi_weight, length_bonus).tolist()
    fluency = (logp / lengths).tolist()
    best = [float("-inf")] * len(out)
    for o, f in zip(owner, fluency, strict=True):
        best[o] = max(best[o], f)
    ranked: list[list[tuple[bool, float, list[int]]]] = [[] for _ in candidates]
    for o, ids, score, f in zip(owner, replies, scores, fluency, strict=True):
        ranked[o].append((f >= best[o] - max_drop, score, ids))
    return [
        [(ids, score) for _, score, ids in sorted(r, key=lambda x: (not x[0], -x[1]))]
        for r in ranked
    ]
