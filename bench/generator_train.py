"""Training speed: target tokens/s of generator.model.Seq2Seq vs the tutorial-style baseline.

Both train on the same pairs (DailyDialog turn pairs of at most ``--max-words`` words when the
data is there, else chitchat-dataset pairs), the same BPE ids, batch 64, on the same device,
with the same hidden size and layer count. Prints and optionally writes a JSON of the figures.

    .venv/bin/python bench/generator_train.py --steps 30 --out runs/bench_train_cpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generator_baseline import TutorialTrainer

from generator.batches import Pair, collate
from generator.config import ModelConfig
from generator.data import iter_pairs, load_corpus
from generator.model import Seq2Seq
from generator.tokenizer import BPETokenizer

DD = Path(__file__).resolve().parents[2] / "shared/data/dailydialog/dailydialog_trainval.jsonl.gz"


def load_pairs(max_words: int, limit: int, corpus: str | None) -> tuple[list[tuple[str, str]], str]:
    """(message, reply) pairs of at most ``max_words`` words each side."""
    source = corpus or (str(DD) if DD.exists() else "chitchat")
    pairs = [
        (ctx[-1], reply)
        for ctx, reply, _ in iter_pairs(load_corpus(source), 1)
        if len(ctx[-1].split()) <= max_words and len(reply.split()) <= max_words
    ]
    random.Random(0).shuffle(pairs)
    return pairs[:limit], source


def time_ours(
    model: Seq2Seq, batches: list, device: torch.device, steps: int, warmup: int, amp: bool
) -> float:
    """Target tokens/s of our training step (forward, loss, backward, clip, AdamW)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    model.train()
    tokens, start = 0, 0.0
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            start, tokens = time.perf_counter(), 0
        b = batches[i % len(batches)].to(device)
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        with ctx:
            logits = model(b.src, b.src_lens, b.tgt_in)
        loss = F.cross_entropy(logits.float().flatten(0, 1), b.tgt_out.flatten(), ignore_index=0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += int((b.tgt_out != 0).sum())
    _sync(device)
    return tokens / (time.perf_counter() - start)


def time_baseline(
    trainer: TutorialTrainer, batches: list, device: torch.device, steps: int, warmup: int
) -> float:
    """Target tokens/s of the tutorial's per-time-step training loop on the same batches."""
    tokens, start = 0, 0.0
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            start, tokens = time.perf_counter(), 0
        b = batches[i % len(batches)]
        mask = (b.tgt_out != 0).t().contiguous()  # (T, B): tutorial layout, time-major
        trainer.step(b.src.t().contiguous(), b.src_lens, b.tgt_out.t().contiguous(), mask)
        tokens += int(mask.sum())
    _sync(device)
    return tokens / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    """Parse options, build data, time both, print and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device"
    )
    ap.add_argument("--steps", type=int, default=30, help="timed steps per model")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--batch-size", type=int, default=64, help="pairs per step (both models)")
    ap.add_argument(
        "--big-batch",
        type=int,
        default=0,
        help="also time ours at this batch size (what a GPU run uses)",
    )
    ap.add_argument("--max-words", type=int, default=10, help="longest message/reply, in words")
    ap.add_argument("--vocab", type=int, default=8000, help="BPE vocabulary size")
    ap.add_argument("--hidden", type=int, default=384, help="hidden size of both models")
    ap.add_argument("--embed", type=int, default=256, help="our tied embedding size")
    ap.add_argument("--layers", type=int, default=2, help="layers of both models")
    ap.add_argument("--corpus", help="corpus instead of DailyDialog/chitchat")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--no-amp", action="store_true", help="no bf16 autocast for ours on CUDA")
    ap.add_argument("--out", type=Path, help="write the JSON figures here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    texts, source = load_pairs(args.max_words, 20000, args.corpus)
    tok = BPETokenizer.train((t for p in texts for t in p), args.vocab)
    enc = tok.encode_batch([t for p in texts for t in p])
    pairs = [
        Pair(tok.context_ids([enc[2 * i]], None, 64), enc[2 * i + 1], 1)
        for i in range(len(texts))
        if enc[2 * i + 1]
    ]

    def make(bs: int) -> list:
        return [collate(pairs[i : i + bs], tok) for i in range(0, len(pairs) - bs + 1, bs)]

    batches = make(args.batch_size)
    amp = device.type == "cuda" and not args.no_amp
    cfg = ModelConfig(
        vocab_size=tok.vocab_size,
        embed_dim=args.embed,
        hidden_dim=args.hidden,
        num_layers=args.layers,
        dropout=0.1,
    )
    ours = time_ours(Seq2Seq(cfg).to(device), batches, device, args.steps, args.warmup, amp)
    base = time_baseline(
        TutorialTrainer(tok.vocab_size, args.hidden, args.layers, 0.1, tok.bos_id, device),
        batches,
        device,
        args.steps,
        args.warmup,
    )
    result = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "data": source,
        "pairs": len(pairs),
        "batch_size": args.batch_size,
        "hidden": args.hidden,
        "layers": args.layers,
        "vocab": tok.vocab_size,
        "amp": amp,
        "ours_tokens_per_s": ours,
        "baseline_tokens_per_s": base,
        "speedup": ours / base,
    }
    if args.big_batch:
        big = make(args.big_batch)
        result["big_batch"] = args.big_batch
        result["ours_big_batch_tokens_per_s"] = time_ours(
            Seq2Seq(cfg).to(device), big, device, args.steps, args.warmup, amp
        )
        result["big_batch_speedup"] = result["ours_big_batch_tokens_per_s"] / base
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
