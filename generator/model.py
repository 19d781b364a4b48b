"""The seq2seq network: bidirectional LSTM encoder, LSTM decoder with Luong attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from generator.config import ModelConfig

State = tuple[Tensor, Tensor]


@dataclass
class Encoded:
    """Encoder output reused at every decoding step."""

    memory: Tensor  # (B, S, H) encoder states, the attention values
    keys: Tensor  # (B, S, H) memory projected once by W_a, so each step is one bmm
    mask: Tensor  # (B, S) True where the source is padding
    state: State  # (L, B, H) each, the decoder's initial (h, c)

    def select(self, index: Tensor) -> Encoded:
        """Rows ``index`` of every tensor (beam search repeats and reorders sources)."""
        h, c = self.state
        return Encoded(
            self.memory[index], self.keys[index], self.mask[index], (h[:, index], c[:, index])
        )

    def stacked(self, other: Encoded) -> Encoded:
        """This batch's rows, then ``other``'s, padded to the longer source (the padding is
        masked, so attention is unchanged): one decoder pass can then score rows of both."""
        width = max(self.mask.size(1), other.mask.size(1))

        def pad(t: Tensor, value: float | bool) -> Tensor:
            extra = width - t.size(1)
            if not extra:
                return t
            return torch.cat([t, t.new_full((t.size(0), extra, *t.shape[2:]), value)], 1)

        def cat(a: Tensor, b: Tensor, value: float | bool) -> Tensor:
            return torch.cat([pad(a, value), pad(b, value)], 0)

        return Encoded(
            cat(self.memory, other.memory, 0.0),
            cat(self.keys, other.keys, 0.0),
            cat(self.mask, other.mask, True),
            (
                torch.cat([self.state[0], other.state[0]], 1),
                torch.cat([self.state[1], other.state[1]], 1),
            ),
        )


class Seq2Seq(nn.Module):
    """Encoder-decoder whose decoder runs a whole target in one LSTM call while training.

    Attention is Luong "general" without input feeding: dropping input feeding lets cuDNN
    (or MKL-DNN on CPU) run the decoder over all time steps at once, which is where the
    speed over the step-by-step tutorial decoder comes from.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h, e, n = cfg.hidden_dim, cfg.embed_dim, cfg.num_layers
        drop = cfg.dropout if n > 1 else 0.0  # LSTM dropout only acts between layers
        self.embed = nn.Embedding(cfg.vocab_size, e, padding_idx=cfg.pad_id)
        self.encoder = nn.LSTM(e, h // 2, n, batch_first=True, bidirectional=True, dropout=drop)
        self.decoder = nn.LSTM(e, h, n, batch_first=True, dropout=drop)
        self.attn = nn.Linear(h, h, bias=False)  # W_a of score(d, m) = d^T W_a m
        self.combine = nn.Linear(2 * h, e)  # [d; context] -> embedding space, for tied output
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(e, cfg.vocab_size)  # a module, so int8 dynamic quantization finds it
        self.out.weight = self.embed.weight  # tied: one matrix reads and writes tokens
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.embed.weight, std=e**-0.5)
        with torch.no_grad():
            self.embed.weight[cfg.pad_id].zero_()

    def encode(self, src: Tensor, src_lens: Tensor) -> Encoded:
        """Run the encoder over padded ``src`` (B, S) with true lengths ``src_lens`` (B,)."""
        emb = self.drop(self.embed(src))  # (B, S, E)
        lens = src_lens.cpu()
        if bool((lens == src.size(1)).all()):
            # No padding (always so for a batch of one): packing would give the same outputs
            # and costs more than the LSTM over a short source.
            memory, (h, c) = self.encoder(emb)
        else:
            packed = pack_padded_sequence(emb, lens, batch_first=True, enforce_sorted=False)
            out, (h, c) = self.encoder(packed)
            memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        # (2L, B, H/2) -> (L, B, H): forward and backward final states side by side per layer.
        n, b = self.cfg.num_layers, src.size(0)
        h = h.view(n, 2, b, -1).transpose(1, 2).reshape(n, b, -1)
        c = c.view(n, 2, b, -1).transpose(1, 2).reshape(n, b, -1)
        return Encoded(memory, self.attn(memory), src == self.cfg.pad_id, (h, c))

    def _attend(self, dec: Tensor, enc: Encoded, keep: Tensor | None = None) -> Tensor:
        """Logits over the vocabulary for decoder states ``dec`` (B, T, H).

        With a (B, T) mask ``keep``, only the kept positions are projected: (N, V) rows in
        row-major order. The 8k-way output layer is the largest product of a training step, and
        padding is up to half of a batch's target positions.
        """
        scores = torch.bmm(dec, enc.keys.transpose(1, 2))  # (B, T, S)
        scores = scores.masked_fill(enc.mask.unsqueeze(1), float("-inf"))
        context = torch.bmm(scores.softmax(-1), enc.memory)  # (B, T, H)
        joined = torch.cat([dec, context], -1)  # (B, T, 2H)
        if keep is not None:
            joined = joined[keep]  # (N, 2H)
        mixed = torch.tanh(self.combine(joined))  # (..., E)
        return self.out(self.drop(mixed))  # (B, T, V), or (N, V) with ``keep``

    def forward(
        self, src: Tensor, src_lens: Tensor, tgt_in: Tensor, keep: Tensor | None = None
    ) -> Tensor:
        """Teacher-forced logits (B, T, V) for target inputs ``tgt_in`` (B, T).

        ``keep`` (B, T) returns only those positions' logits, (N, V): what the loss needs.
        """
        return self.teacher_forced(self.encode(src, src_lens), tgt_in, keep)

    def teacher_forced(
        self,
        enc: Encoded,
        tgt_in: Tensor,
        keep: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """Logits (B, T, V) of every target position given encoded sources (B rows).

        With the targets' true ``lengths`` the decoder runs packed, skipping the padding: a
        third less work when scoring many candidates of mixed length. Outputs at real
        positions are the same up to int8 activation rounding, so callers that must match
        an earlier ranking bit for bit leave it off.
        """
        emb = self.drop(self.embed(tgt_in))
        if lengths is None or bool((lengths == tgt_in.size(1)).all()):
            dec, _ = self.decoder(emb, enc.state)  # (B, T, H)
        else:
            packed = pack_padded_sequence(
                emb, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            out, _ = self.decoder(packed, enc.state)
            dec, _ = pad_packed_sequence(out, batch_first=True, total_length=tgt_in.size(1))
        return self._attend(dec, enc, keep)

    def step(self, tokens: Tensor, state: State, enc: Encoded) -> tuple[Tensor, State]:
        """One decoding step: log-probabilities (B, V) of the next token, and the new state."""
        dec, state = self.decoder(self.embed(tokens).unsqueeze(1), state)  # (B, 1, H)
        return self._attend(dec, enc).squeeze(1).log_softmax(-1), state

    def num_parameters(self) -> int:
        """Trainable parameter count (tied embedding counted once)."""
        return sum(p.numel() for p in self.parameters())
