"""The LSTM kind of seq2seq network: bidirectional LSTM encoder, LSTM decoder with Luong
attention."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from generator.config import ModelConfig
from generator.model import Encoded, Seq2Seq, stack_padded

State = tuple[Tensor, Tensor]  # the decoder's (h, c), each (L, B, H)


@dataclass
class LSTMEncoded(Encoded):
    """Encoder output reused at every decoding step."""

    memory: Tensor  # (B, S, H) encoder states, the attention values
    keys: Tensor  # (B, S, H) memory projected once by W_a, so each step is one bmm
    mask: Tensor  # (B, S) True where the source is padding
    state: State  # (L, B, H) each, the decoder's initial (h, c)

    def select(self, index: Tensor) -> LSTMEncoded:
        """Rows ``index`` of every tensor (beam search repeats and reorders sources)."""
        h, c = self.state
        return LSTMEncoded(
            self.memory[index], self.keys[index], self.mask[index], (h[:, index], c[:, index])
        )

    def stacked(self, other: Encoded) -> LSTMEncoded:
        """This batch's rows, then ``other``'s, padded to the longer source (the padding is
        masked, so attention is unchanged): one decoder pass can then score rows of both."""
        assert isinstance(other, LSTMEncoded)
        width = max(self.mask.size(1), other.mask.size(1))

        def cat(a: Tensor, b: Tensor, value: float | bool) -> Tensor:
            return stack_padded(a, b, 1, width, value)

        return LSTMEncoded(
            cat(self.memory, other.memory, 0.0),
            cat(self.keys, other.keys, 0.0),
            cat(self.mask, other.mask, True),
            (
                torch.cat([self.state[0], other.state[0]], 1),
                torch.cat([self.state[1], other.state[1]], 1),
            ),
        )


class LSTMSeq2Seq(Seq2Seq):
    """Encoder-decoder whose decoder runs a whole target in one LSTM call while training.

    Attention is Luong "general" without input feeding: dropping input feeding lets cuDNN
    (or MKL-DNN on CPU) run the decoder over all time steps at once, which is where the
    speed over the step-by-step tutorial decoder comes from.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
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

    def encode(self, src: Tensor, src_lens: Tensor) -> LSTMEncoded:
        """Run the encoder over padded ``src`` (B, S) with true lengths ``src_lens`` (B,)."""
        emb = self.drop(self.embed(src))  # (B, S, E)
        memory, (h, c) = self._run_encoder(emb, src_lens.cpu())
        # (2L, B, H/2) -> (L, B, H): forward and backward final states side by side per layer.
        n, b = self.cfg.num_layers, src.size(0)
        h = h.view(n, 2, b, -1).transpose(1, 2).reshape(n, b, -1)
        c = c.view(n, 2, b, -1).transpose(1, 2).reshape(n, b, -1)
        return LSTMEncoded(memory, self.attn(memory), src == self.cfg.pad_id, (h, c))

    def _run_encoder(self, emb: Tensor, lens: Tensor) -> tuple[Tensor, State]:
        """The bidirectional encoder over each source's real tokens only: outputs (B, S, H)
        with zeros at padding, and the final (h, c), each (2L, B, H/2).

        Rows of one length run together, unpadded, and the groups are put back in order.
        This gives exactly what a packed sequence gives (each row is independent), at a third
        of the cost of a training step's forward and backward: the packed path's backward
        zero-fills a gradient the size of the whole batch at every time step, while the
        rows of a training batch come in two or three lengths (batches are source-sorted),
        which oneDNN runs as a few dense calls (docs/benchmarks.md, "Transformer option").
        """
        width = emb.size(1)
        lengths = lens.unique().tolist()
        if lengths == [width]:  # no padding (always so for a batch of one)
            return self.encoder(emb)
        outs, hs, cs, order = [], [], [], []
        for length in lengths:
            rows = (lens == length).nonzero().squeeze(1).to(emb.device)
            out, (h, c) = self.encoder(emb[rows, :length])
            outs.append(F.pad(out, (0, 0, 0, width - length)))
            hs.append(h)
            cs.append(c)
            order.append(rows)
        back = torch.cat(order).argsort()  # group order -> batch order
        return torch.cat(outs)[back], (torch.cat(hs, 1)[:, back], torch.cat(cs, 1)[:, back])

    def _attend(self, dec: Tensor, enc: LSTMEncoded, keep: Tensor | None = None) -> Tensor:
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

    def teacher_forced(
        self,
        enc: LSTMEncoded,
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

    def start(self, enc: LSTMEncoded) -> State:
        """The decoder starts from the encoder's final states."""
        return enc.state

    def step(self, tokens: Tensor, state: State, enc: LSTMEncoded) -> tuple[Tensor, State]:
        """One decoding step: log-probabilities (B, V) of the next token, and the new state."""
        dec, state = self.decoder(self.embed(tokens).unsqueeze(1), state)  # (B, 1, H)
        return self._attend(dec, enc).squeeze(1).log_softmax(-1), state

    def reorder(self, state: State, index: Tensor) -> State:
        """Rows ``index`` of the (h, c) state: batch is their second dimension."""
        return state[0][:, index], state[1][:, index]
