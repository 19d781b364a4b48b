"""Turn conversations into token-id pairs and length-bucketed, padded batches."""

from __future__ import annotations

import contextlib
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from generator.data import Conversation
from generator.tokenizer import BPETokenizer


@dataclass(frozen=True)
class Pair:
    """One training example: encoder ids, reply ids (no specials) and the reply's word count."""

    src: list[int]
    tgt: list[int]
    words: int  # whitespace words of the reply + 1 for its end; the per-word perplexity divisor
    topic: str | None = None


@dataclass
class Batch:
    """Padded tensors for one step."""

    src: Tensor  # (B, S)
    src_lens: Tensor  # (B,)
    tgt_in: Tensor  # (B, T) <bos> + reply
    tgt_out: Tensor  # (B, T) reply + <eos>, padded with pad_id (ignored by the loss)
    words: int  # per-word perplexity divisor for the whole batch
    tokens: int = 0  # target tokens (<eos> included), counted on CPU so no GPU sync is needed

    def to(self, device: torch.device) -> Batch:
        """The same batch on ``device``; lengths stay on CPU for packing."""
        return Batch(
            self.src.to(device, non_blocking=True),
            self.src_lens,
            self.tgt_in.to(device, non_blocking=True),
            self.tgt_out.to(device, non_blocking=True),
            self.words,
            self.tokens,
        )


def make_pairs(
    conversations: Sequence[Conversation],
    tok: BPETokenizer,
    context_turns: int,
    max_source_tokens: int,
    max_target_tokens: int,
    keep: Callable[[str], bool] | None = None,
) -> list[Pair]:
    """Every (last ``context_turns`` turns -> next turn) pair, each turn encoded once.

    ``keep`` decides from the reply's text whether it may be a target (the generic-reply
    filter); the turn still serves as context for the pairs after it.
    """
    flat = [t for conv in conversations for t in conv.turns]
    encoded = tok.encode_batch(flat)
    pairs, pos = [], 0
    for conv in conversations:
        ids = encoded[pos : pos + len(conv.turns)]
        pos += len(conv.turns)
        for i in range(1, len(conv.turns)):
            src = tok.context_ids(ids[max(0, i - context_turns) : i], conv.topic, max_source_tokens)
            tgt = ids[i][:max_target_tokens]
            if tgt and (keep is None or keep(conv.turns[i])):
                pairs.append(Pair(src, tgt, len(conv.turns[i].split()) + 1, conv.topic))
    return pairs


def with_reply_lm(pairs: Sequence[Pair], tok: BPETokenizer, share: float, seed: int) -> list[Pair]:
    """``pairs`` plus a seeded ``share`` of them again with the topic token as the only input.

    The topic token is the first id of every source, so the copy asks the model for the reply
    without its context: that teaches p(reply | topic), the reply language model.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"lm_share must be in [0, 1], got {share}")
    rng = random.Random(seed)
    extra = [replace(p, src=p.src[:1]) for p in pairs if rng.random() < share]
    return [*pairs, *extra]


def collate(pairs: Sequence[Pair], tok: BPETokenizer) -> Batch:
    """Pad a list of pairs into one batch."""
    b = len(pairs)
    s = max(len(p.src) for p in pairs)
    t = max(len(p.tgt) for p in pairs) + 1
    src = torch.full((b, s), tok.pad_id, dtype=torch.long)
    tgt_in = torch.full((b, t), tok.pad_id, dtype=torch.long)
    tgt_out = torch.full((b, t), tok.pad_id, dtype=torch.long)
    for i, p in enumerate(pairs):
        src[i, : len(p.src)] = torch.tensor(p.src)
        tgt_in[i, : len(p.tgt) + 1] = torch.tensor([tok.bos_id, *p.tgt])
        tgt_out[i, : len(p.tgt) + 1] = torch.tensor([*p.tgt, tok.eos_id])
    lens = torch.tensor([len(p.src) for p in pairs])
    tokens = sum(len(p.tgt) + 1 for p in pairs)
    return Batch(src, lens, tgt_in, tgt_out, sum(p.words for p in pairs), tokens)


def batches(
    pairs: Sequence[Pair],
    tok: BPETokenizer,
    batch_size: int,
    *,
    max_tokens: int = 0,
    shuffle_seed: int | None = None,
    skip: int = 0,
) -> Iterator[Batch]:
    """Batches of similar source length (less padding); shuffled by ``shuffle_seed`` if given.

    With ``max_tokens`` > 0 a batch holds as many pairs as fit that many padded target+source
    tokens, which keeps a GPU busy on short pairs without overflowing on long ones.
    ``skip`` drops that many leading batches unbuilt (resuming inside an epoch).
    """
    order = list(range(len(pairs)))
    rng = random.Random(shuffle_seed)
    if shuffle_seed is not None:
        rng.shuffle(order)
    # Sort inside windows of 50 batches: enough to group lengths, still random across windows.
    window = batch_size * 50
    groups: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(
            order[start : start + window], key=lambda i: (len(pairs[i].src), len(pairs[i].tgt))
        )
        groups.extend(_cut(chunk, pairs, batch_size, max_tokens))
    if shuffle_seed is not None:
        rng.shuffle(groups)
    for group in groups[skip:]:
        yield collate([pairs[i] for i in group], tok)


def _cut(
    chunk: list[int], pairs: Sequence[Pair], batch_size: int, max_tokens: int
) -> Iterator[list[int]]:
    if max_tokens <= 0:
        for i in range(0, len(chunk), batch_size):
            yield chunk[i : i + batch_size]
        return
    group: list[int] = []
    longest = 0
    for i in chunk:
        size = len(pairs[i].src) + len(pairs[i].tgt) + 1
        if group and max(longest, size) * (len(group) + 1) > max_tokens:
            yield group
            group, longest = [], 0
        group.append(i)
        longest = max(longest, size)
    if group:
        yield group


def count_batches(pairs: Sequence[Pair], batch_size: int, max_tokens: int) -> int:
    """How many batches :func:`batches` yields (for progress bars and LR schedules)."""
    if max_tokens <= 0:
        window = batch_size * 50
        return sum(
            -(-min(window, len(pairs) - s) // batch_size) for s in range(0, len(pairs), window)
        )
    return sum(1 for _ in _count_groups(pairs, batch_size, max_tokens))


def _count_groups(pairs: Sequence[Pair], batch_size: int, max_tokens: int) -> Iterator[list[int]]:
    order = list(range(len(pairs)))
    window = batch_size * 50
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(pairs[i].src))
        yield from _cut(chunk, pairs, batch_size, max_tokens)


def prefetch(items: Iterable[Batch], depth: int = 4) -> Iterator[Batch]:
    """Build batches in a background thread while the device trains on the previous ones."""
    q: queue.Queue[Batch | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        finally:
            q.put(None)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not None:
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # drain so the worker can see ``stop`` and exit
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
