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

from generator.model import Seq2Seq
from generator.tokenizer import BPETokenizer

Candidates = list[list[tuple[list[int], float]]]  # per context: (reply ids, a score)
ROWS_PER_PASS = 128  # teacher-forced rows per forward pass: bounds the (rows, T, V) logits


def _padded(rows: Sequence[list[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    src = torch.full((len(rows), max(len(r) for r in rows)), pad_id, dtype=torch.long)
    for i, ids in enumerate(rows):
        src[i, : len(ids)] = torch.tensor(ids)
    return src, torch.tensor([len(r) for r in rows])


@torch.no_grad()
def reply_logprobs(
    model: Seq2Seq,
    tok: BPETokenizer,
    sources: Sequence[list[int]],
    owner: Sequence[int],
    replies: Sequence[list[int]],
    device: torch.device,
) -> Tensor:
    """Summed log p(reply + <eos> | sources[owner[i]]) for every reply, teacher-forced."""
    src, lens = _padded(sources, tok.pad_id)
    enc = model.encode(src.to(device), lens)
    out = torch.empty(len(replies))
    for start in range(0, len(replies), ROWS_PER_PASS):
        part = replies[start : start + ROWS_PER_PASS]
        rows = torch.tensor(owner[start : start + ROWS_PER_PASS], device=device)
        tgt_in, _ = _padded([[tok.bos_id, *r] for r in part], tok.pad_id)
        tgt_out, _ = _padded([[*r, tok.eos_id] for r in part], tok.pad_id)
        tgt_out = tgt_out.to(device)
        logp = model.teacher_forced(enc.select(rows), tgt_in.to(device)).log_softmax(-1)
        picked = logp.gather(2, tgt_out.unsqueeze(-1)).squeeze(-1)
        out[start : start + len(part)] = picked.masked_fill(tgt_out == tok.pad_id, 0.0).sum(1)
    return out


def mmi_scores(
    logp: Tensor, logp_lm: Tensor, lengths: Tensor, mmi_weight: float, length_bonus: float
) -> Tensor:
    """The re-ranking score of each candidate (higher is better)."""
    return logp - mmi_weight * logp_lm + length_bonus * lengths


Scored = list[list[tuple[list[int], float, float]]]  # per context: (ids, logp, lm logp)


def rank(
    candidates: Scored, mmi_weight: float, length_bonus: float, max_drop: float = float("inf")
) -> Candidates:
    """Each context's candidates, deduplicated and sorted by :func:`mmi_scores`.

    Each candidate carries log p(reply + <eos> | context) and log p(reply + <eos> | topic
    only), from the search (``generator.decode.search(lm=True)``) or from :func:`rerank`.
    A candidate whose mean log-probability per token is more than ``max_drop`` nats below the
    context's most fluent candidate goes after all the others: the anti-LM term would favour
    it for being unlikely anywhere, which is what a garbled sample is too.
    """
    out: Candidates = []
    for cands in candidates:
        unique = list({tuple(ids): (ids, lp, lm) for ids, lp, lm in cands if ids}.values())
        if not unique:
            out.append([])
            continue
        logp = torch.tensor([lp for _, lp, _ in unique])
        lengths = torch.tensor([len(ids) + 1.0 for ids, _, _ in unique])
        lm = torch.tensor([x for _, _, x in unique])
        scores = mmi_scores(logp, lm, lengths, mmi_weight, length_bonus).tolist()
        fluency = (logp / lengths).tolist()
        floor = max(fluency) - max_drop
        order = sorted(range(len(unique)), key=lambda i: (fluency[i] < floor, -scores[i]))
        out.append([(unique[i][0], scores[i]) for i in order])
    return out


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
    """:func:`rank` for candidates that carry only log p(reply + <eos> | context).

    The reply-alone term is computed here, teacher-forced with the topic token as the whole
    input (so the language model is conditioned on the same topic as the reply). Decoding
    gets that term from the search instead; this is the straightforward way, for candidates
    from elsewhere and as the reference the search's values are tested against.
    """
    unique = [
        list({tuple(ids): (ids, lp) for ids, lp in cands if ids}.values()) for cands in candidates
    ]
    owner = [ci for ci, cands in enumerate(unique) for _ in cands]
    replies = [ids for cands in unique for ids, _ in cands]
    lm = (
        reply_logprobs(model, tok, [s[:1] for s in sources], owner, replies, device).tolist()
        if mmi_weight and replies
        else [0.0] * len(replies)
    )
    scored: Scored = [[] for _ in candidates]
    for o, (ids, lp), lm_lp in zip(owner, (c for cands in unique for c in cands), lm, strict=True):
        scored[o].append((ids, lp, lm_lp))
    return rank(scored, mmi_weight, length_bonus, max_drop)
