"""A fresh network of the kind a config names: the one place that knows every kind."""

from __future__ import annotations

from generator.config import ModelConfig
from generator.lstm import LSTMSeq2Seq
from generator.model import Seq2Seq
from generator.transformer import TransformerSeq2Seq

KINDS: dict[str, type[Seq2Seq]] = {"lstm": LSTMSeq2Seq, "transformer": TransformerSeq2Seq}


def build_model(cfg: ModelConfig) -> Seq2Seq:
    """A fresh, untrained network of ``cfg.kind``."""
    return KINDS[cfg.kind](cfg)
