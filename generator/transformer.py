"""The Transformer kind of seq2seq network: a small pre-norm encoder-decoder.

Built from ``nn.Linear`` and ``scaled_dot_product_attention`` rather than
``nn.TransformerDecoder`` for two reasons: decoding keeps each layer's keys and values of
the reply so far (``nn.TransformerDecoder`` recomputes the whole prefix at every step), and
every projection is an ``nn.Linear``, which int8 dynamic quantisation converts
(``nn.MultiheadAttention`` keeps its input projection as a bare parameter, left in fp32).
Pre-norm (a LayerNorm before each sublayer, one after each stack) trains stably without the
long warmup post-norm needs; the output layer is tied to the embedding, as in the LSTM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generator.config import ModelConfig
from generator.model import Encoded, Seq2Seq, stack_padded

KeyValue = tuple[Tensor, Tensor]  # (B, heads, length, head_dim) each
State = list[KeyValue]  # per decoder layer: its self-attention keys and values so far


@dataclass
class TransformerEncoded(Encoded):
    """The sources' cross-attention keys and values, one pair per decoder layer, projected
    once: every decoding step and every scored candidate reads them."""

    mask: Tensor  # (B, S) True where the source is padding
    cross: list[KeyValue]

    def select(self, index: Tensor) -> TransformerEncoded:
        """Rows ``index`` of every tensor."""
        return TransformerEncoded(self.mask[index], [(k[index], v[index]) for k, v in self.cross])

    def stacked(self, other: Encoded) -> TransformerEncoded:
        """This batch's rows, then ``other``'s, padded (and masked) to the longer source."""
        assert isinstance(other, TransformerEncoded)
        width = max(self.mask.size(1), other.mask.size(1))

        def cat(a: Tensor, b: Tensor, dim: int, value: float | bool) -> Tensor:
            return stack_padded(a, b, dim, width, value)

        return TransformerEncoded(
            cat(self.mask, other.mask, 1, True),
            [
                (cat(k1, k2, 2, 0.0), cat(v1, v2, 2, 0.0))
                for (k1, v1), (k2, v2) in zip(self.cross, other.cross, strict=True)
            ],
        )

    def visible(self) -> Tensor:
        """The attention mask over the source, (B, 1, 1, S): True where a key may be read."""
        return ~self.mask[:, None, None, :]


class Attention(nn.Module):
    """Multi-head attention whose keys and values can be projected once and kept."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def project(self, x: Tensor) -> KeyValue:
        """Keys and values of ``x`` (B, S, D), split into heads."""
        k, v = self.key_value(x).chunk(2, -1)
        return self._split(k), self._split(v)

    def forward(self, x: Tensor, kv: KeyValue, visible: Tensor | None) -> Tensor:
        """``x`` (B, T, D) attends to ``kv``; ``visible`` broadcasts to (B, heads, T, S)."""
        q = self._split(self.query(x))
        drop = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, *kv, attn_mask=visible, dropout_p=drop)
        b, _, t, _ = out.shape
        return self.out(out.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim)
        )


class EncoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, cfg.heads, cfg.dropout)
        self.ff = FeedForward(d, cfg.ff_dim, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, visible: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, self.attn.project(h), visible))
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = Attention(d, cfg.heads, cfg.dropout)
        self.cross_attn = Attention(d, cfg.heads, cfg.dropout)
        self.ff = FeedForward(d, cfg.ff_dim, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: Tensor,
        past: KeyValue | None,
        causal: Tensor | None,
        cross: KeyValue,
        source_visible: Tensor,
    ) -> tuple[Tensor, KeyValue]:
        """``x`` (B, T, D) given the keys and values of earlier positions ``past`` (decoding)
        or a ``causal`` mask (a whole reply at once); returns the output and this layer's
        keys and values up to and including ``x``."""
        h = self.norm1(x)
        k, v = self.self_attn.project(h)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        x = x + self.drop(self.self_attn(h, (k, v), causal))
        x = x + self.drop(self.cross_attn(self.norm2(x), cross, source_visible))
        return x + self.drop(self.ff(self.norm3(x))), (k, v)


class TransformerSeq2Seq(Seq2Seq):
    """Pre-norm Transformer encoder-decoder with tied embeddings.

    Sized for small data by default: 2 + 2 layers of width 256 (about the LSTM's parameter
    count) with dropout 0.2; ``positions`` learned (a table of ``max_positions``; later
    positions share its last row) or sinusoidal.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        d = cfg.embed_dim
        self.scale = math.sqrt(d)  # embeddings start at std d^-0.5: scaled to unit size
        self.embed = nn.Embedding(cfg.vocab_size, d, padding_idx=cfg.pad_id)
        if cfg.positions == "learned":
            self.positions = nn.Embedding(cfg.max_positions, d)
            nn.init.normal_(self.positions.weight, std=0.02)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.num_layers))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(d, cfg.vocab_size)  # a module, so int8 quantisation finds it
        self.out.weight = self.embed.weight
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.embed.weight, std=d**-0.5)
        with torch.no_grad():
            self.embed.weight[cfg.pad_id].zero_()

    def _position(self, start: int, length: int, device: torch.device) -> Tensor:
        """(length, D) position vectors for positions start .. start + length - 1."""
        if self.cfg.positions == "learned":
            at = torch.arange(start, start + length, device=device)
            return self.positions(at.clamp(max=self.cfg.max_positions - 1))
        d = self.cfg.embed_dim
        at = torch.arange(start, start + length, device=device, dtype=torch.float32)
        freq = torch.exp(torch.arange(0, d, 2, device=device) * (-math.log(10000.0) / d))
        angles = at[:, None] * freq[None, :]
        return torch.stack([angles.sin(), angles.cos()], -1).flatten(1)[:, :d]

    def _embed(self, tokens: Tensor, start: int = 0) -> Tensor:
        x = self.embed(tokens) * self.scale + self._position(start, tokens.size(1), tokens.device)
        return self.drop(x)

    def encode(self, src: Tensor, src_lens: Tensor) -> TransformerEncoded:
        """Encode ``src`` (B, S); ``src_lens`` is implied by the padding."""
        mask = src == self.cfg.pad_id
        visible = ~mask[:, None, None, :]
        x = self._embed(src)
        for layer in self.encoder:
            x = layer(x, visible)
        memory = self.encoder_norm(x)
        cross = [layer.cross_attn.project(memory) for layer in self.decoder]
        return TransformerEncoded(mask, cross)

    def _decode(
        self, x: Tensor, enc: TransformerEncoded, past: State | None, causal: Tensor | None
    ) -> tuple[Tensor, State]:
        visible = enc.visible()
        state: State = []
        for i, layer in enumerate(self.decoder):
            x, kv = layer(x, past[i] if past is not None else None, causal, enc.cross[i], visible)
            state.append(kv)
        return self.decoder_norm(x), state

    def teacher_forced(
        self,
        enc: TransformerEncoded,
        tgt_in: Tensor,
        keep: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """Logits of every target position. Causal attention means padding after a reply
        never reaches its real positions, so ``lengths`` is not needed."""
        t = tgt_in.size(1)
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt_in.device).tril()
        dec, _ = self._decode(self._embed(tgt_in), enc, None, causal)
        if keep is not None:
            dec = dec[keep]
        return self.out(self.drop(dec))

    def start(self, enc: TransformerEncoded) -> State:
        """No reply tokens yet: empty keys and values in every layer."""
        empty = enc.cross[0][0][:, :, :0]  # (B, heads, 0, head_dim)
        return [(empty, empty) for _ in self.decoder]

    def step(self, tokens: Tensor, state: State, enc: TransformerEncoded) -> tuple[Tensor, State]:
        """The next token's log-probabilities; the new state holds one more position."""
        done = state[0][0].size(2)  # positions decoded so far
        dec, state = self._decode(self._embed(tokens.unsqueeze(1), done), enc, state, None)
        return self.out(dec.squeeze(1)).log_softmax(-1), state

    def reorder(self, state: State, index: Tensor) -> State:
        """Rows ``index`` of every layer's keys and values."""
        return [(k[index], v[index]) for k, v in state]
