"""The speed baseline: a seq2seq trained the way the classic PyTorch chatbot tutorial does.

Faithful to the tutorial's structure (pytorch/tutorials ``beginner_source/chatbot_tutorial.py``):
a bidirectional GRU encoder whose two directions are summed, a Luong-attention GRU decoder
(``general`` score, concat layer, separate output layer) fed one time step at a time in a
Python loop with teacher forcing, a masked NLL loss accumulated per step, two Adam optimizers
and gradient clipping. Only the sizes are ours, so the comparison isolates the training style.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class EncoderRNN(nn.Module):
    """Tutorial encoder: embedding -> bidirectional GRU, directions summed."""

    def __init__(self, hidden: int, embedding: nn.Embedding, n_layers: int, dropout: float) -> None:
        super().__init__()
        self.n_layers, self.hidden, self.embedding = n_layers, hidden, embedding
        self.gru = nn.GRU(
            hidden, hidden, n_layers, dropout=dropout if n_layers > 1 else 0.0, bidirectional=True
        )

    def forward(self, seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(seq), lengths, enforce_sorted=False
        )
        out, hidden = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out)
        return out[:, :, : self.hidden] + out[:, :, self.hidden :], hidden  # (S, B, H)


class LuongAttnDecoderRNN(nn.Module):
    """Tutorial decoder: one step per call, ``general`` attention, concat -> tanh -> output."""

    def __init__(
        self, embedding: nn.Embedding, hidden: int, vocab: int, n_layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.embedding = embedding
        self.embedding_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden, hidden, n_layers, dropout=dropout if n_layers > 1 else 0.0)
        self.attn = nn.Linear(hidden, hidden)
        self.concat = nn.Linear(hidden * 2, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, step: Tensor, last_hidden: Tensor, enc: Tensor) -> tuple[Tensor, Tensor]:
        emb = self.embedding_dropout(self.embedding(step))  # (1, B, H)
        rnn_out, hidden = self.gru(emb, last_hidden)
        energy = torch.sum(rnn_out * self.attn(enc), dim=2).t()  # (B, S)
        weights = F.softmax(energy, dim=1).unsqueeze(1)
        context = weights.bmm(enc.transpose(0, 1)).squeeze(1)  # (B, H)
        concat = torch.tanh(self.concat(torch.cat((rnn_out.squeeze(0), context), 1)))
        return F.softmax(self.out(concat), dim=1), hidden


def mask_nll(inp: Tensor, target: Tensor, mask: Tensor) -> tuple[Tensor, int]:
    """The tutorial's ``maskNLLLoss``: mean NLL over the unmasked rows of one time step."""
    cross = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))
    return cross.masked_select(mask).mean(), int(mask.sum())


class TutorialTrainer:
    """Holds both modules and optimizers; ``step`` is the tutorial's ``train()`` for one batch."""

    def __init__(
        self,
        vocab: int,
        hidden: int,
        n_layers: int,
        dropout: float,
        bos_id: int,
        device: torch.device,
        lr: float = 1e-4,
        clip: float = 50.0,
    ) -> None:
        self.embedding = nn.Embedding(vocab, hidden)
        self.encoder = EncoderRNN(hidden, self.embedding, n_layers, dropout).to(device)
        self.decoder = LuongAttnDecoderRNN(self.embedding, hidden, vocab, n_layers, dropout).to(
            device
        )
        self.enc_opt = torch.optim.Adam(self.encoder.parameters(), lr=lr)
        self.dec_opt = torch.optim.Adam(self.decoder.parameters(), lr=lr * 5.0)
        self.n_layers, self.bos_id, self.device, self.clip = n_layers, bos_id, device, clip

    def step(self, src: Tensor, lengths: Tensor, target: Tensor, mask: Tensor) -> float:
        """One batch; ``src`` (S, B), ``target``/``mask`` (T, B), time-major like the tutorial."""
        self.enc_opt.zero_grad()
        self.dec_opt.zero_grad()
        src, target, mask = src.to(self.device), target.to(self.device), mask.to(self.device)
        enc_out, enc_hidden = self.encoder(src, lengths)
        dec_in = torch.full((1, src.size(1)), self.bos_id, dtype=torch.long, device=self.device)
        dec_hidden = enc_hidden[: self.n_layers]
        loss, totals, n = torch.zeros((), device=self.device), [], 0
        for t in range(target.size(0)):  # teacher forcing, one Python step per token
            out, dec_hidden = self.decoder(dec_in, dec_hidden, enc_out)
            dec_in = target[t].view(1, -1)
            step_loss, count = mask_nll(out, target[t], mask[t])
            loss = loss + step_loss
            totals.append(step_loss.item() * count)
            n += count
        loss.backward()
        nn.utils.clip_grad_norm_(self.encoder.parameters(), self.clip)
        nn.utils.clip_grad_norm_(self.decoder.parameters(), self.clip)
        self.enc_opt.step()
        self.dec_opt.step()
        return sum(totals) / n
