"""What every kind of seq2seq network offers the rest of the generator (the kinds themselves:
generator/lstm.py and generator/transformer.py; generator/networks.py builds one).

Decoding, re-ranking, the hybrid's scoring, training and evaluation see only this interface,
so a model of either kind (``model.kind`` in the training config: ``lstm`` or
``transformer``) trains, decodes, quantises and re-ranks without the caller knowing which.
The decoder's state between steps is the model's own business: the search only asks for it
at the start and to have its rows reordered as beams move.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor, nn

from generator.config import ModelConfig


def stack_padded(a: Tensor, b: Tensor, dim: int, width: int, value: float | bool) -> Tensor:
    """``a``'s rows, then ``b``'s, each padded with ``value`` along ``dim`` to ``width``: two
    batches' encodings stacked for one decoder pass (the padding is masked)."""

    def pad(t: Tensor) -> Tensor:
        extra = width - t.size(dim)
        if not extra:
            return t
        shape = list(t.shape)
        shape[dim] = extra
        return torch.cat([t, t.new_full(shape, value)], dim)

    return torch.cat([pad(a), pad(b)], 0)


class Encoded(ABC):
    """Encoded sources, reused at every decoding step; rows follow the source batch."""

    mask: Tensor  # (B, S) True where the source is padding

    @abstractmethod
    def select(self, index: Tensor) -> Encoded:
        """Rows ``index`` (beam search repeats and reorders sources)."""

    @abstractmethod
    def stacked(self, other: Encoded) -> Encoded:
        """This batch's rows, then ``other``'s, padded to the longer source (the padding is
        masked): one decoder pass can then score rows of both."""


class Seq2Seq(nn.Module, ABC):
    """An encoder-decoder over token ids with a tied output layer named ``out``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg

    @abstractmethod
    def encode(self, src: Tensor, src_lens: Tensor) -> Encoded:
        """Run the encoder over padded ``src`` (B, S) with true lengths ``src_lens`` (B,)."""

    @abstractmethod
    def teacher_forced(
        self,
        enc: Any,
        tgt_in: Tensor,
        keep: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """Logits (B, T, V) of every target position given encoded sources (B rows).

        ``keep`` (B, T) returns only those positions' logits, (N, V): the output layer over
        8k tokens is the largest product of a step. ``lengths``, the targets' true lengths,
        lets a kind skip the padding where that is cheaper; outputs at real positions are the
        same up to int8 rounding.
        """

    @abstractmethod
    def start(self, enc: Any) -> Any:
        """The decoder's state before the first token."""

    @abstractmethod
    def step(self, tokens: Tensor, state: Any, enc: Any) -> tuple[Tensor, Any]:
        """One decoding step: log-probabilities (B, V) of the next token, and the new state."""

    @abstractmethod
    def reorder(self, state: Any, index: Tensor) -> Any:
        """Rows ``index`` of a decoder state (beams that live on, in their new order)."""

    def forward(
        self, src: Tensor, src_lens: Tensor, tgt_in: Tensor, keep: Tensor | None = None
    ) -> Tensor:
        """Teacher-forced logits (B, T, V) for target inputs ``tgt_in`` (B, T).

        ``keep`` (B, T) returns only those positions' logits, (N, V): what the loss needs.
        """
        return self.teacher_forced(self.encode(src, src_lens), tgt_in, keep)

    def num_parameters(self) -> int:
        """Trainable parameter count (tied embedding counted once)."""
        return sum(p.numel() for p in self.parameters())
