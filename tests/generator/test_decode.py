"""Beam search and sampling on a trained tiny model."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from generator import checkpoint
from generator.decode import DecodeOptions, _blocked, generate, length_penalty

pytestmark = pytest.mark.torch  # .ci/run reruns these on torch's portable CPU kernels


@pytest.fixture
def model_tok(tiny_model_of_kind: Path):
    return checkpoint.build(checkpoint.read(tiny_model_of_kind))


def test_beam_returns_sorted_candidates_within_limits(model_tok) -> None:
    model, tok = model_tok
    src = [tok.encode_context(["do you think computers can fall in love?"], "ai", 48)] * 2
    opts = DecodeOptions(beam_size=3, max_tokens=8, min_tokens=3, no_repeat_ngram=2, rerank=False)
    out = generate(model, tok, src, opts)
    assert len(out) == 2 and out[0] == out[1]  # batched rows decode independently
    scores = [s for _, s in out[0]]
    assert scores == sorted(scores, reverse=True) and 1 <= len(out[0]) <= 3
    for ids, _ in out[0]:
        assert 3 <= len(ids) <= 8
        assert not set(ids) & set(tok.banned_ids)
        bigrams = list(itertools.pairwise(ids))
        assert len(bigrams) == len(set(bigrams))  # no repeated 2-gram


def test_sampling_is_seeded(model_tok) -> None:
    model, tok = model_tok
    src = [tok.encode_context(["how are you today?"], None, 48)]
    opts = DecodeOptions(sample=True, seed=7, beam_size=2, max_tokens=6, temperature=1.2)
    assert generate(model, tok, src, opts) == generate(model, tok, src, opts)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("beam_size", 0, "beam_size"),
        ("max_tokens", 0, "max_tokens"),
        ("min_tokens", 99, "min_tokens"),
        ("temperature", 0.0, "temperature"),
        ("top_p", 1.5, "top_p"),
        ("length_alpha", -1.0, "length_alpha"),
        ("no_repeat_ngram", -1, "no_repeat_ngram"),
    ],
)
def test_options_are_validated(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DecodeOptions(**{field: value})


def test_helpers() -> None:
    assert _blocked([1, 2, 3, 1, 2], 3) == [3]
    assert _blocked([1, 2], 3) == []
    assert length_penalty(1, 0.0) == 1.0 and length_penalty(7, 1.0) == 2.0
