"""Reply latency (batch of one), batched throughput and memory of a loaded generator on CPU.

    .venv/bin/python bench/generator_latency.py --model models/generator --n 200

Messages are validation turns of the model's own corpus split when chitchat is installed, so
the figures reflect real inputs. Prints JSON; ``--out`` also writes it.

``--ab`` also times beam-only and re-ranked decoding interleaved on the same messages, so a
busy machine slows both alike: wall and CPU time per reply, p50/p90/p99 each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from generator import ReplyContext, load
from generator.clean import prepare, split_conversations
from generator.data import iter_pairs, load_chitchat
from generator.decode import generate
from generator.service import LSTMReplyGenerator


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


def percentiles(times: list[float]) -> dict[str, float]:
    """p50/p90/p99 in milliseconds."""
    times = sorted(times)
    pick = lambda q: 1000 * times[min(len(times) - 1, int(len(times) * q))]  # noqa: E731
    return {"p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99)}


def ab(gen: LSTMReplyGenerator, ctxs: list[ReplyContext]) -> dict[str, dict[str, float]]:
    """Beam only and re-ranked, each timed on every context in alternating order."""
    beam_only = replace(gen.options, rerank=False)
    arms = {
        "beam only": lambda s: generate(gen.model, gen.tok, [s], beam_only, gen.device),
        "re-ranked": lambda s: generate(gen.model, gen.tok, [s], gen.options, gen.device),
    }
    names = list(arms)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with torch.inference_mode():
        for i, ctx in enumerate(ctxs):
            source = gen.source(ctx)
            for name in names[i % 2 :] + names[: i % 2]:
                t0, c0 = time.perf_counter(), time.process_time()
                arms[name](source)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    return {
        name: {
            **percentiles(wall[name]),
            **{f"cpu_{k}": v for k, v in percentiles(cpu[name]).items()},
        }
        for name in names
    }


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
    ap.add_argument("--ab", action="store_true", help="time beam-only and re-ranked, interleaved")
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
    if args.ab:
        result["ab"] = ab(gen, ctxs[: args.n])
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
