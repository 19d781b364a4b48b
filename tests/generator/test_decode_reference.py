"""The optimised search and anti-LM pass against plain reference computations.

The reference decodes one hypothesis at a time, teacher-forced from scratch (no carried
state), and scans the whole vocabulary at every step; the search batches beams and samples,
carries LSTM states and looks only at each row's best tokens. On an fp32 model both must
find the same replies with the same scores (int8 models are left out: dynamic quantization
scales activations per batch, so a batch of one and a batch of eight differ in the last bits).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from generator import checkpoint
from generator.decode import (
    NUCLEUS_TOP,
    DecodeOptions,
    _blocked,
    length_penalty,
    pad_sources,
    search,
)
from generator.model import Seq2Seq
from generator.rerank import reply_logprobs
from generator.tokenizer import BPETokenizer

pytestmark = pytest.mark.torch

MESSAGES = [
    "do you think computers can fall in love?",
    "what did you eat for lunch?",
    "where did you grow up?",
]
Found = list[tuple[list[int], float]]  # (reply ids, summed log-probability with <eos>)


@pytest.fixture(scope="module")
def model_tok(tiny_model) -> tuple[Seq2Seq, BPETokenizer]:
    return checkpoint.build(checkpoint.read(tiny_model))


@torch.no_grad()
def next_logp(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: list[int],
    prefix: list[int],
    step: int,
    opts: DecodeOptions,
) -> Tensor:
    """Masked log p(next token | src, prefix), the whole prefix run through the decoder."""
    enc = model.encode(torch.tensor([src]), torch.tensor([len(src)]))
    logp = model.teacher_forced(enc, torch.tensor([[tok.bos_id, *prefix]]))[0, -1].log_softmax(-1)
    logp[list(tok.banned_ids)] = float("-inf")
    if step < opts.min_tokens:
        logp[tok.eos_id] = float("-inf")
    for t in _blocked(prefix, opts.no_repeat_ngram):
        logp[t] = float("-inf")
    return logp


def reference_beams(
    model: Seq2Seq, tok: BPETokenizer, src: list[int], opts: DecodeOptions
) -> tuple[Found, int]:
    """Beam search over every (beam, token) pair, and the number of steps it ran."""
    k = opts.beam_size
    live: Found = [([], 0.0)]  # all beams start identical: one expands at step 0
    finished: Found = []
    step = 0
    while step < opts.max_tokens and len(finished) < k:
        ext = sorted(
            (
                (score + lp, hyp, t)
                for hyp, score in live
                for t, lp in enumerate(next_logp(model, tok, src, hyp, step, opts).tolist())
            ),
            key=lambda e: -e[0],
        )[: 2 * k]
        live = []
        for rank, (score, hyp, t) in enumerate(ext):
            if t == tok.eos_id:
                if rank < k and len(finished) < k:  # only an <eos> among the best K ends a beam
                    finished.append((hyp, score))
            elif len(live) < k:
                live.append(([*hyp, t], score))
        step += 1
    finished += live[: k - len(finished)]
    ranked = sorted(finished, key=lambda c: -c[1] / length_penalty(len(c[0]), opts.length_alpha))
    return ranked, step


def reference_samples(
    model: Seq2Seq,
    tok: BPETokenizer,
    src: list[int],
    opts: DecodeOptions,
    n: int,
    steps: int,
    keep_unfinished: bool,
) -> Found:
    """``n`` nucleus samples by a full sort of each step's distribution, drawn from the same
    seeded uniform stream as the search, run for ``steps`` steps."""
    uniform = torch.rand(n, opts.max_tokens, generator=torch.Generator().manual_seed(opts.seed))
    out: Found = []
    for j in range(n):
        hyp: list[int] = []
        total = 0.0
        for step in range(steps):
            logp = next_logp(model, tok, src, hyp, step, opts)
            p, order = (logp / opts.temperature).softmax(-1).sort(descending=True)
            p, order = p[:NUCLEUS_TOP], order[:NUCLEUS_TOP]
            cdf = (p * (p.cumsum(0) - p < opts.top_p)).cumsum(0)
            t = int(order[torch.searchsorted(cdf, uniform[j, step : step + 1] * cdf[-1])])
            total += logp[t].item()
            if t == tok.eos_id:
                out.append((hyp, total))
                break
            hyp.append(t)
        else:
            if keep_unfinished:
                out.append((hyp, total))
    return sorted(out, key=lambda c: -c[1] / (len(c[0]) + 1))


@pytest.mark.parametrize(("beams", "samples"), [(3, 4), (3, 0), (0, 4)])
@pytest.mark.parametrize("message", MESSAGES)
def test_search_finds_the_reference_beams_and_samples(
    model_tok, message: str, beams: int, samples: int
) -> None:
    model, tok = model_tok
    opts = DecodeOptions(beam_size=max(beams, 1), max_tokens=12, seed=3)
    src = tok.encode_context([message], "ai", 48)
    cpu = torch.device("cpu")
    found = search(model, tok, *pad_sources([src], tok.pad_id, cpu), opts, beams, samples)
    want_beams, steps = reference_beams(model, tok, src, opts) if beams else ([], opts.max_tokens)
    # Samples still running when the beams end are dropped; alone, they all count.
    want_samples = reference_samples(model, tok, src, opts, samples, steps, not beams)
    assert len(want_beams) == beams and (beams or len(want_samples) == samples)
    for got, want in zip((found[0][0], found[1][0]), (want_beams, want_samples), strict=True):
        assert [c.ids for c in got] == [ids for ids, _ in want]
        assert [c.logp for c in got] == pytest.approx([lp for _, lp in want], abs=1e-4)


def test_anti_lm_pass_matches_scoring_each_reply_alone(model_tok) -> None:
    model, tok = model_tok
    sources = [tok.encode_context([m], "ai", 48)[:1] for m in MESSAGES[:2]]
    a, b, c = (tok.encode(t) for t in ("no, a computer", "no, a robot", "i am good"))
    # Shared prefixes within a context, the same reply under two contexts, one-token replies.
    replies = [a, b, a[:2], c, a, [a[0]]]
    owner = [0, 0, 0, 0, 1, 1]
    got = reply_logprobs(model, tok, sources, owner, replies, torch.device("cpu"))
    want = []
    with torch.no_grad():
        for o, reply in zip(owner, replies, strict=True):
            enc = model.encode(torch.tensor([sources[o]]), torch.tensor([len(sources[o])]))
            logp = model.teacher_forced(enc, torch.tensor([[tok.bos_id, *reply]]))[0].log_softmax(
                -1
            )
            want.append(sum(logp[i, t].item() for i, t in enumerate([*reply, tok.eos_id])))
    assert got.tolist() == pytest.approx(want, abs=1e-4)
