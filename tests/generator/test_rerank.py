"""MMI re-ranking: a specific reply beats the generic one the plain likelihood prefers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from generator import checkpoint
from generator.decode import DecodeOptions, generate
from generator.rerank import mmi_scores, rerank, reply_logprobs
from generator.train import train

from .conftest import tiny_config

GENERIC = "i see"
# Each message is answered twice by the generic reply and once by its own specific reply.
PAIRS = [
    ("my cat knocked the vase over", "bad cat"),
    ("i am baking bread tonight", "fresh bread"),
    ("we climbed a volcano", "hot volcano"),
    ("my phone battery died again", "charge phone"),
    ("i started learning the violin", "play violin"),
    ("the train was late this morning", "late train"),
]


@pytest.fixture(scope="module")
def generic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained where the generic reply is twice as likely as the specific one."""
    folder = tmp_path_factory.mktemp("generic")
    records = []
    for rep in range(4):
        for n, (msg, specific) in enumerate(PAIRS):
            for k, reply in enumerate((GENERIC, specific, GENERIC)):
                # A distinct opening turn keeps the repeated pairs from being deduplicated.
                turns = [f"hello {rep} {n} {k}", msg, reply]
                records.append({"id": f"{rep}-{n}-{k}", "topic": "general", "turns": turns})
    corpus = folder / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    cfg = tiny_config(corpus, folder / "run", epochs=15)
    cfg.data.context_turns, cfg.data.val_fraction, cfg.data.lm_share = 1, 0.05, 0.5
    train(cfg, progress=False, log=lambda _: None)
    return folder / "run" / "last.pt"  # the final weights: validation here is a few pairs


def test_rerank_prefers_the_specific_reply_over_the_generic_one(generic_model: Path) -> None:
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    msg, specific = PAIRS[0]
    source = tok.encode_context([msg], "general", 48)
    cands = [tok.encode(GENERIC), tok.encode(specific)]
    logp = reply_logprobs(model, tok, [source], [0, 0], cands, torch.device("cpu"))
    # The constructed case: given the message, the generic reply is the more likely one ...
    assert logp[0] > logp[1]
    pairs = [[(ids, lp) for ids, lp in zip(cands, logp.tolist(), strict=True)]]
    plain = rerank(model, tok, [source], pairs, 0.0, 0.0, torch.device("cpu"))
    assert tok.decode(plain[0][0][0]) == GENERIC
    # ... but it is likely after any message, so mutual information ranks the specific first.
    mmi = rerank(model, tok, [source], pairs, 0.5, 0.0, torch.device("cpu"))
    assert tok.decode(mmi[0][0][0]) == specific
    assert [len(c) for c in mmi] == [2]


def test_mmi_score_terms() -> None:
    score = mmi_scores(torch.tensor([-2.0]), torch.tensor([-4.0]), torch.tensor([3.0]), 0.5, 0.1)
    assert score.item() == pytest.approx(-2.0 + 2.0 + 0.3)


def test_rerank_dedups_and_keeps_empty_contexts_aligned(generic_model: Path) -> None:
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    src = tok.encode_context([PAIRS[1][0]], "general", 48)
    ids = tok.encode(GENERIC)
    out = rerank(model, tok, [src, src], [[], [(ids, -1.0), (ids, -1.0)]], 0.5, 0.0, "cpu")
    assert out[0] == [] and len(out[1]) == 1


def test_reranked_decoding_is_reproducible_and_batch_independent(generic_model: Path) -> None:
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    sources = [tok.encode_context([m], "general", 48) for m, _ in PAIRS[:3]]
    opts = DecodeOptions(beam_size=2, num_samples=3, max_tokens=10)
    together = generate(model, tok, sources, opts)
    alone = [generate(model, tok, [s], opts)[0] for s in sources]
    assert together == alone == generate(model, tok, sources, opts)
    for cands in together:
        scores = [s for _, s in cands]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(ids) for ids, _ in cands}) == len(cands)  # no duplicates
