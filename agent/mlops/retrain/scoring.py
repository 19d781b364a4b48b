"""Score a generator checkpoint on held-out conversations with its own tokenizer and settings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from generator import checkpoint
from generator.clean import prepare
from generator.data import Conversation, load_jsonl
from generator.evaluate import NLL, corpus_nll, scored_pairs


def generator_nll(model_path: Path, conversations: Sequence[Conversation]) -> NLL | None:
    """Teacher-forced NLL of every reply in ``conversations``; None when there is nothing to score.

    Per-word perplexity (``NLL.word_perplexity``) compares models with different tokenizers.
    """
    ckpt = checkpoint.read(model_path)
    model, tok = checkpoint.build(ckpt)
    data = checkpoint.data_config(ckpt)
    # The same cleaning and context length the model was trained with, as it will be served.
    convs = prepare(conversations, max_turn_words=data.max_turn_words)
    pairs = scored_pairs(convs, tok, data.context_turns, data.max_source_tokens)
    if not pairs:
        return None
    return corpus_nll(model, pairs, tok, torch.device("cpu"))


def perplexities(model_path: Path, files: dict[str, Path]) -> dict[str, float | None]:
    """Per-word perplexity on each named JSONL file (None for an empty one)."""
    out: dict[str, float | None] = {}
    for name, path in files.items():
        nll = generator_nll(model_path, load_jsonl(path))
        out[name] = round(nll.word_perplexity, 4) if nll else None
    return out
