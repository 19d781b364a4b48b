"""Training speed: target tokens/s of our training step against the tutorial-style baseline.

Every variant trains on the same pairs, BPE ids, batch size, hidden size and layer count, on
the same device, interleaved round by round (round r times each variant on the same pairs), so
ratios hold on a loaded machine even when absolute figures do not:

- ``baseline``: the PyTorch chatbot tutorial's training style (bench/generator_baseline.py),
  on batches drawn at random, as the tutorial draws them;
- ``ours_before``: the LSTM kind (generator.lstm) with the loss over the whole padded target
  grid, on batches sorted by source length (the training loop before the CPU speed work);
- ``ours``: the training loop now: logits and loss only at real target positions, on
  generator.batches.batches;
- ``transformer``: the same step and batches with the Transformer kind (``--embed`` wide,
  4 heads, a feed-forward 4x as wide, ``--layers`` layers in each stack);
- ``ours_compiled`` and ``transformer_compiled`` (``--compile``): the same under
  ``torch.compile(dynamic=True)`` (inductor's CPU code; compiling happens in the untimed warmup);
- ``ours_threads<N>`` (``--also-threads N``), ``ours_bf16`` (``--bf16``: bf16 autocast, which
  pays only on CPUs with native bf16, flags avx512_bf16 or amx_bf16), and ``ours_batch<N>``
  (``--big-batch N``, what a GPU run uses).

``--pairs training`` uses the pairs ``generator train`` builds (last 3 turns as context, 96/40
token caps) and prints how long 3 epochs over 5,000 topic + 5,000 general pairs (plus the
reply-LM share) would train at the measured speed; ``--pairs short`` (default) uses one-turn
pairs of at most ``--max-words`` words, the earlier protocol.

    .venv/bin/python bench/generator_train.py --pairs training --rounds 3 --out runs/bench.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generator_baseline import TutorialTrainer

from generator.batches import Batch, Pair, batches, collate, make_pairs
from generator.clean import prepare
from generator.config import DataConfig, ModelConfig
from generator.data import iter_pairs, load_corpus
from generator.model import Seq2Seq
from generator.networks import build_model
from generator.tokenizer import BPETokenizer

DD = Path(__file__).resolve().parents[2] / "shared/data/dailydialog/dailydialog_trainval.jsonl.gz"
FINETUNE_PAIRS = 10_000  # the target: 5,000 topic pairs plus as many general pairs
Step = Callable[[Batch], int]


def short_pairs(source: str, max_words: int, vocab: int) -> tuple[list[Pair], BPETokenizer]:
    """One-turn (message, reply) pairs of at most ``max_words`` words each side."""
    texts = [
        (ctx[-1], reply)
        for ctx, reply, _ in iter_pairs(load_corpus(source), 1)
        if len(ctx[-1].split()) <= max_words and len(reply.split()) <= max_words
    ]
    random.Random(0).shuffle(texts)
    texts = texts[:20000]
    tok = BPETokenizer.train((t for p in texts for t in p), vocab)
    enc = tok.encode_batch([t for p in texts for t in p])
    pairs = [
        Pair(tok.context_ids([enc[2 * i]], None, 64), enc[2 * i + 1], 1)
        for i in range(len(texts))
        if enc[2 * i + 1]
    ]
    return pairs, tok


def training_pairs(source: str, vocab: int) -> tuple[list[Pair], BPETokenizer]:
    """The pairs ``generator train`` builds with the default data settings."""
    d = DataConfig(corpus=source)
    convs = prepare(load_corpus(source), max_turn_words=d.max_turn_words)
    random.Random(0).shuffle(convs)
    convs = convs[:2000]
    tok = BPETokenizer.train((t for c in convs for t in c.turns), vocab, [c.topic for c in convs])
    pairs = make_pairs(convs, tok, d.context_turns, d.max_source_tokens, d.max_target_tokens)
    random.Random(1).shuffle(pairs)
    return pairs, tok


def source_sorted(pairs: list[Pair], tok: BPETokenizer, size: int) -> list[Batch]:
    """Batches as the training loop cut them before: sorted by source, then target length."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].src), len(pairs[i].tgt)))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    random.Random(0).shuffle(groups)
    return [collate([pairs[i] for i in g], tok) for g in groups]


def current(pairs: list[Pair], tok: BPETokenizer, size: int) -> list[Batch]:
    """Batches as the training loop cuts them now (generator.batches.batches)."""
    return list(batches(pairs, tok, size, shuffle_seed=0))


def random_batches(pairs: list[Pair], tok: BPETokenizer, size: int) -> list[Batch]:
    """Batches of pairs in drawn order, as the tutorial's ``batch2TrainData`` gets them."""
    return [collate(pairs[i : i + size], tok) for i in range(0, len(pairs), size)]


def our_step(model: Seq2Seq, device: torch.device, *, kept: bool, amp: str | None) -> Step:
    """Our training step (forward, label-smoothed loss, backward, clip, AdamW)."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    model.train()

    def step(b: Batch) -> int:
        b = b.to(device)
        keep = b.tgt_out != 0
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        with ctx:
            if kept:
                logits, gold = model(b.src, b.src_lens, b.tgt_in, keep), b.tgt_out[keep]
            else:
                logits, gold = model(b.src, b.src_lens, b.tgt_in).flatten(0, 1), b.tgt_out.flatten()
        loss = F.cross_entropy(logits.float(), gold, ignore_index=0, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return b.tokens

    return step


def baseline_step(trainer: TutorialTrainer) -> Step:
    """The tutorial's per-time-step training loop on one batch."""

    def step(b: Batch) -> int:
        mask = (b.tgt_out != 0).t().contiguous()  # (T, B): tutorial layout, time-major
        trainer.step(b.src.t().contiguous(), b.src_lens, b.tgt_out.t().contiguous(), mask)
        return b.tokens

    return step


def timed(
    step: Step, items: list[Batch], device: torch.device, threads: int
) -> tuple[float, float]:
    """Target tokens per wall second and per CPU second of ``step`` over ``items``.

    CPU seconds (this process, all its threads) hold up far better than the wall clock on a
    box whose other jobs take most of the cores; the wall clock is what a user waits.
    """
    torch.set_num_threads(threads)
    _sync(device)
    start, cpu, tokens = time.perf_counter(), time.process_time(), 0
    for b in items:
        tokens += step(b)
    _sync(device)
    return tokens / (time.perf_counter() - start), tokens / (time.process_time() - cpu)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def cpu_flags() -> tuple[str, list[str]]:
    """CPU model name and its bf16-related flags, from /proc/cpuinfo where there is one."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "cpu", []
    fields = dict(ln.split(":", 1) for ln in info.splitlines() if ":" in ln)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = fields.get("flags", "").split()
    return fields.get("model name", "cpu"), sorted(
        f for f in flags if "bf16" in f or f.startswith("amx")
    )


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--pairs", choices=["short", "training"], default="short")
    ap.add_argument("--steps", type=int, default=30, help="timed batches per variant and round")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (ratios per round)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps per variant first")
    ap.add_argument("--batch-size", type=int, default=64, help="pairs per step (all variants)")
    ap.add_argument("--big-batch", type=int, default=0, help="also time ours at this batch size")
    ap.add_argument("--also-threads", type=int, default=0, help="also time ours with N threads")
    ap.add_argument("--bf16", action="store_true", help="also time ours under bf16 autocast")
    ap.add_argument("--compile", action="store_true", help="also time both under torch.compile")
    ap.add_argument("--max-words", type=int, default=10, help="short pairs: longest side, words")
    ap.add_argument("--vocab", type=int, default=8000, help="BPE vocabulary size")
    ap.add_argument("--hidden", type=int, default=384, help="hidden size of both models")
    ap.add_argument("--embed", type=int, default=256, help="our tied embedding size")
    ap.add_argument("--layers", type=int, default=2, help="layers of both models")
    ap.add_argument("--corpus", help="corpus instead of DailyDialog (short) / chitchat (training)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--no-amp", action="store_true", help="no bf16 autocast for ours on CUDA")
    ap.add_argument("--out", type=Path, help="write the JSON figures here")
    return ap.parse_args()


def main() -> None:
    """Build data and variants, time them round by round, print and write the figures."""
    args = parse_args()
    threads = args.threads or torch.get_num_threads()
    torch.manual_seed(0)
    device = torch.device(args.device)
    load_before = os.getloadavg()
    if args.pairs == "training":
        source = args.corpus or "chitchat"
        pairs, tok = training_pairs(source, args.vocab)
    else:
        source = args.corpus or (str(DD) if DD.exists() else "chitchat")
        pairs, tok = short_pairs(source, args.max_words, args.vocab)
    cfg = ModelConfig(tok.vocab_size, args.embed, args.hidden, args.layers, 0.1, tok.pad_id)
    transformer = replace(cfg, kind="transformer", heads=4, ff_dim=4 * args.embed)
    amp = "cuda" if device.type == "cuda" and not args.no_amp else None

    def ours(model: ModelConfig = cfg, compiled: bool = False, **kw: object) -> Step:
        network = build_model(model).to(device)
        if compiled:
            network = torch.compile(network, dynamic=True)  # type: ignore[assignment]
        return our_step(network, device, **kw)  # type: ignore[arg-type]

    # name -> (step, batch maker, threads, batch size)
    bs = args.batch_size
    variants: dict[str, tuple[Step, Callable[..., list[Batch]], int, int]] = {
        "baseline": (
            baseline_step(
                TutorialTrainer(tok.vocab_size, args.hidden, args.layers, 0.1, tok.bos_id, device)
            ),
            random_batches,
            threads,
            bs,
        ),
        "ours_before": (ours(kept=False, amp=amp), source_sorted, threads, bs),
        "ours": (ours(kept=True, amp=amp), current, threads, bs),
        "transformer": (ours(transformer, kept=True, amp=amp), current, threads, bs),
    }
    if args.also_threads:
        variants[f"ours_threads{args.also_threads}"] = (
            ours(kept=True, amp=amp),
            current,
            args.also_threads,
            bs,
        )
    if args.compile:
        variants["ours_compiled"] = (ours(compiled=True, kept=True, amp=amp), current, threads, bs)
        variants["transformer_compiled"] = (
            ours(transformer, compiled=True, kept=True, amp=amp),
            current,
            threads,
            bs,
        )
    if args.bf16:
        variants["ours_bf16"] = (ours(kept=True, amp=device.type), current, threads, bs)
    if args.big_batch:
        big = args.big_batch
        variants[f"ours_batch{big}"] = (ours(kept=True, amp=amp), current, threads, big)

    per_round = args.steps * bs
    if len(pairs) < per_round * args.rounds:
        raise SystemExit(f"{len(pairs)} pairs: too few for {args.rounds} rounds of {per_round}")
    skipped: dict[str, str] = {}
    for name, (step, make, n, size) in list(variants.items()):  # warm up every variant once
        torch.set_num_threads(n)
        try:
            for b in make(pairs[: size * args.warmup], tok, size)[: args.warmup]:
                step(b)
        except RuntimeError as exc:  # e.g. oneDNN has no bf16 LSTM on a CPU without bf16
            skipped[name] = str(exc).splitlines()[0]
            del variants[name]
            print(f"{name} skipped: {skipped[name]}", flush=True)
    rounds: list[dict[str, float]] = []
    cpu_rounds: list[dict[str, float]] = []
    for r in range(args.rounds):
        chunk = pairs[r * per_round : (r + 1) * per_round]
        row, cpu_row = {}, {}
        for name, (step, make, n, size) in variants.items():
            row[name], cpu_row[name] = timed(step, make(chunk, tok, size), device, n)
        rounds.append(row)
        cpu_rounds.append(cpu_row)
        print(
            f"round {r + 1}, tokens/s (per CPU s): "
            + ", ".join(f"{k} {v:.0f} ({cpu_row[k]:.0f})" for k, v in row.items()),
            flush=True,
        )

    def median(name: str, over: str | None = None, table: list[dict[str, float]] = rounds) -> float:
        return statistics.median(x[name] / (x[over] if over else 1.0) for x in table)

    name, flags = cpu_flags()
    result: dict[str, object] = {
        "command": " ".join(sys.argv),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else name,
        "cpu_bf16_flags": flags,
        "cores": os.cpu_count(),
        "threads": threads,
        "torch": torch.__version__,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "data": source,
        "pairs": args.pairs,
        "pairs_per_round": per_round,
        "batch_size": bs,
        "hidden": args.hidden,
        "layers": args.layers,
        "vocab": tok.vocab_size,
        "amp": amp is not None,
        "rounds": rounds,
        "skipped": skipped,
        "median_tokens_per_s": {k: median(k) for k in variants},
        "median_ratio_to_baseline": {k: median(k, "baseline") for k in variants},
        "median_ratio_to_ours_before": {k: median(k, "ours_before") for k in variants},
        "cpu_rounds": cpu_rounds,
        "median_ratio_to_baseline_cpu": {k: median(k, "baseline", cpu_rounds) for k in variants},
        "median_ratio_to_ours_before_cpu": {
            k: median(k, "ours_before", cpu_rounds) for k in variants
        },
        # compatibility with the earlier JSON (GPU scripts, docs)
        "ours_tokens_per_s": median("ours"),
        "baseline_tokens_per_s": median("baseline"),
        "speedup": median("ours", "baseline"),
    }
    if args.pairs == "training":
        tokens_per_pair = statistics.mean(len(p.tgt) + 1 for p in pairs)
        tokens = 3 * FINETUNE_PAIRS * 1.1 * tokens_per_pair  # 3 epochs, lm_share 0.1
        result["finetune_train_minutes_at_ours"] = tokens / median("ours") / 60
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
