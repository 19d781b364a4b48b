"""MMI re-ranking: a specific reply beats the generic one the plain likelihood prefers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from generator import checkpoint
from generator.decode import DecodeOptions, generate, pad_sources
from generator.rerank import encoded_reply_logprobs, mmi_scores, reply_logprobs, rerank
from generator.train import train

from .conftest import KINDS, tiny_config

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


@pytest.fixture(scope="module", params=KINDS)
def generic_model(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A tiny model of each kind trained where the generic reply is twice as likely as the
    specific one."""
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
    cfg = tiny_config(corpus, folder / "run", request.param, epochs=25, patience=25, lr=3e-2)
    cfg.model.vocab_size = 1000  # whole words: the replies are one or two tokens
    cfg.data.context_turns, cfg.data.val_fraction, cfg.data.lm_share = 1, 0.05, 0.5
    train(cfg, progress=False, log=lambda _: None)
    return folder / "run" / "last.pt"  # the final weights: validation here is a few pairs


def test_rerank_prefers_the_specific_reply_over_the_generic_one(generic_model: Path) -> None:
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    cpu = torch.device("cpu")
    sources = [tok.encode_context([msg], "general", 48) for msg, _ in PAIRS]
    cands = [[tok.encode(GENERIC), tok.encode(specific)] for _, specific in PAIRS]
    owner = [i for i in range(len(PAIRS)) for _ in range(2)]
    logp = reply_logprobs(model, tok, sources, owner, [c for cs in cands for c in cs], cpu)
    scored = [
        list(zip(cs, logp[2 * i : 2 * i + 2].tolist(), strict=True)) for i, cs in enumerate(cands)
    ]
    # The constructed case: given each message, the generic reply is the more likely one ...
    plain = rerank(model, tok, sources, scored, 0.0, 0.0, cpu)
    assert all(tok.decode(c[0][0]) == GENERIC for c in plain)
    # ... but it is as likely after no message at all, so mutual information prefers the
    # specific reply (allowing one message where the tiny model's margin is thin).
    mmi = rerank(model, tok, sources, scored, 1.0, 0.0, cpu)
    firsts = [tok.decode(c[0][0]) for c in mmi]
    assert sum(f == s for f, (_, s) in zip(firsts, PAIRS, strict=True)) >= len(PAIRS) - 1
    assert all(len(c) == 2 for c in mmi)


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
    opts = DecodeOptions(beam_size=2, rerank=True, num_samples=3, max_tokens=10)
    together = generate(model, tok, sources, opts)
    alone = [generate(model, tok, [s], opts)[0] for s in sources]
    assert together == generate(model, tok, sources, opts)  # seeded samples: reproducible
    # Batched rows are padded, so scores may differ in the last bits; the replies may not.
    assert [[ids for ids, _ in c] for c in together] == [[ids for ids, _ in c] for c in alone]
    for a, b in zip(together, alone, strict=True):
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-4)
    for cands in together:
        scores = [s for _, s in cands]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(ids) for ids, _ in cands}) == len(cands)  # no duplicates


def test_garbled_candidates_rank_after_fluent_ones(generic_model: Path) -> None:
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    cpu = torch.device("cpu")
    msg, specific = PAIRS[0]
    src = tok.encode_context([msg], "general", 48)
    good, garbled = tok.encode(specific), tok.encode("violin bread volcano phone train cat")
    logp = reply_logprobs(model, tok, [src], [0, 0], [good, garbled], cpu).tolist()
    assert logp[1] / (len(garbled) + 1) < logp[0] / (len(good) + 1) - 1.0  # the case holds
    scored = [[(garbled, logp[1]), (good, logp[0])]]
    # A large length bonus alone would put the longer garbled candidate first ...
    loose = rerank(model, tok, [src], scored, 1.0, 50.0, cpu)
    assert loose[0][0][0] == garbled
    # ... the fluency floor keeps it behind the fluent one.
    out = rerank(model, tok, [src], scored, 1.0, 50.0, cpu, max_drop=1.0)
    assert [ids for ids, _ in out[0]] == [good, garbled]


def test_scores_over_stacked_encodings_match_scores_over_their_sources(
    generic_model: Path,
) -> None:
    """The hybrid scores context rows and topic-only rows against one stacked encoding, the
    shorter sources padded: the padding must change nothing."""
    model, tok = checkpoint.build(checkpoint.read(generic_model))
    model.eval()
    cpu = torch.device("cpu")
    long = [tok.encode_context([f"{msg} and {msg}"], "general", 48) for msg, _ in PAIRS[:3]]
    short = [s[:1] for s in long]
    replies = [tok.encode(r) for _, r in PAIRS[:3]] + [tok.encode(GENERIC)] * 3
    owner = [0, 1, 2, 3, 4, 5]  # each long source once, then each topic-only one
    enc = model.encode(*pad_sources(long, tok.pad_id, cpu))
    stacked = enc.stacked(model.encode(*pad_sources(short, tok.pad_id, cpu)))
    assert stacked.mask.shape == (6, max(map(len, long)))
    got = encoded_reply_logprobs(model, tok, stacked, owner, replies, cpu, packed=True)
    want = reply_logprobs(model, tok, long + short, owner, replies, cpu)
    assert torch.allclose(got, want, atol=1e-4)
