"""Reply latency (batch of one), batched throughput and memory of a loaded generator on CPU.

    .venv/bin/python bench/generator_latency.py --model models/generator --n 200

Messages are validation turns of the model's own corpus split when chitchat is installed, so
the figures reflect real inputs. Prints JSON; ``--out`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from generator import ReplyContext, load
from generator.clean import prepare, split_conversations
from generator.data import iter_pairs, load_chitchat


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def contexts(n: int) -> list[ReplyContext]:
    """``n`` (context, topic) pairs from chitchat validation conversations."""
    _, val = split_conversations(prepare(load_chitchat(), max_turn_words=40), 0.05, 13)
    pairs = list(iter_pairs(val, 3))
    random.Random(0).shuffle(pairs)
    return [ReplyContext(history=c, topic=t) for c, _, t in pairs[:n]]


def main() -> None:
    """Measure and print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/generator", help="model dir or checkpoint")
    ap.add_argument("--n", type=int, default=200, help="replies timed one at a time")
    ap.add_argument("--batch", type=int, default=64, help="batch size for throughput")
    ap.add_argument("--beam", type=int, default=4, help="beam width")
    ap.add_argument("--max-tokens", type=int, default=30, help="reply token cap")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--no-quantize", action="store_true", help="decode with fp32 weights")
    ap.add_argument("--no-rerank", action="store_true", help="plain beam search, no MMI re-ranking")
    ap.add_argument("--num-samples", type=int, default=4, help="nucleus samples re-ranked")
    ap.add_argument("--skip-batched", action="store_true", help="only the batch-of-one latency")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ctxs = contexts(max(args.n, args.batch * 4))
    before = rss_mb()
    gen = load(
        args.model,
        beam_size=args.beam,
        max_tokens=args.max_tokens,
        quantize=not args.no_quantize,
        rerank=not args.no_rerank,
        num_samples=args.num_samples,
    )
    gen.reply(ctxs[0])  # warm-up: first call allocates
    loaded = rss_mb()
    times = []
    for ctx in ctxs[: args.n]:
        t0 = time.perf_counter()
        gen.reply(ctx)
        times.append(time.perf_counter() - t0)
    times.sort()
    t0 = time.perf_counter()
    done = 0
    for i in range(0, 0 if args.skip_batched else args.batch * 4, args.batch):
        done += len(gen.reply_batch(ctxs[i : i + args.batch]))
    throughput = done / (time.perf_counter() - t0)
    result = {
        "model": gen.version,
        "quantized": not args.no_quantize,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "load_avg_1m": os.getloadavg()[0],
        "beam": args.beam,
        "decoding": {
            k: getattr(gen.options, k)
            for k in ("rerank", "num_samples", "mmi_weight", "length_bonus")
        },
        "max_tokens": args.max_tokens,
        "n": len(times),
        "p50_ms": 1000 * times[len(times) // 2],
        "p90_ms": 1000 * times[int(len(times) * 0.9)],
        "p99_ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.99))],
        "batch": args.batch,
        "replies_per_s_batched": None if args.skip_batched else throughput,
        "memory_added_mb": loaded - before,
        "rejections": dict(gen.rejections),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
