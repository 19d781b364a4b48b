"""Reply latency (batch of one), batched throughput and memory of a loaded generator on CPU.

    .venv/bin/python bench/generator_latency.py --model models/generator --n 200

Messages are validation turns of the model's own corpus split when chitchat is installed, so
the figures reflect real inputs. Prints JSON; ``--out`` also writes it.

``--ab`` also times beam-only and re-ranked decoding interleaved on the same messages, so a
busy machine slows both alike: wall and CPU time per reply, p50/p90/p99 each.

``--hybrid-ab`` times whole replies the same way: today's re-ranked LSTM reply (``retrieve``
0, the checkpoint alone) against the hybrid fallback's (retrieval, grounded acknowledgements
written from the bot's templates as the agent writes them, the LSTM's candidates, the ranker),
and reports the index's size on disk and the memory each load adds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from generator import ReplyContext, load
from generator.clean import prepare, split_conversations
from generator.data import iter_pairs, load_chitchat
from generator.decode import generate
from generator.service import Seq2SeqReplyGenerator


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


def ab(gen: Seq2SeqReplyGenerator, ctxs: list[ReplyContext]) -> dict[str, dict[str, float]]:
    """Beam only and re-ranked, each timed on every context in alternating order."""
    beam_only = replace(gen.options, rerank=False)
    arms = {
        "beam only": lambda s: generate(gen.model, gen.tok, [s], beam_only, gen.device),
        "re-ranked": lambda s: generate(gen.model, gen.tok, [s], gen.options, gen.device),
    }
    sources = [gen.source(c) for c in ctxs]
    with torch.inference_mode():
        return interleaved(
            {name: (lambda i, f=f: f(sources[i])) for name, f in arms.items()}, len(ctxs)
        )


def interleaved(arms: dict[str, Callable[[int], object]], n: int) -> dict[str, dict[str, float]]:
    """Each arm called on items 0..n-1, the arms' order alternating, so a busy machine slows
    them alike: wall and CPU time percentiles per arm."""
    names = list(arms)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for name in names[i % 2 :] + names[: i % 2]:
            t0, c0 = time.perf_counter(), time.process_time()
            arms[name](i)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {
        name: {
            **percentiles(wall[name]),
            **{f"cpu_{k}": v for k, v in percentiles(cpu[name]).items()},
        }
        for name in names
    }


def grounded(ctxs: list[ReplyContext], data_dir: Path) -> list[ReplyContext]:
    """The contexts with the acknowledgements the agent would add from the bot's files."""
    import nlu
    from agent.core.grounded import acknowledgements
    from agent.core.script import load_script
    from nlu.acts import analyse

    intents = nlu.load_intents(data_dir / "intents.yml")
    script = load_script(data_dir / "dialogue.yml", intents.intent_names)
    acts = [analyse(c.history[-1]) for c in ctxs]
    return [
        replace(
            c,
            persona=script.persona,
            grounded=acknowledgements(script.acknowledgements, act, str(i)),
            about_bot=act.act == "question_about_bot",
        )
        for i, (c, act) in enumerate(zip(ctxs, acts, strict=True))
    ]


def hybrid_ab(
    model: Path, ctxs: list[ReplyContext], data_dir: Path, **hybrid_options: int
) -> dict[str, object]:
    """Today's re-ranked reply against the hybrid one (``hybrid_options`` set its decoding),
    interleaved, with memory and size."""
    from generator.checkpoint import INDEX_FILE, resolve

    base = rss_mb()
    hybrid = load(model, **hybrid_options)
    hybrid_mb = rss_mb() - base
    today = load(resolve(model))
    with_acks = grounded(ctxs, data_dir)
    today.reply(ctxs[0])  # warm-up: the first call allocates
    hybrid.reply(with_acks[0])
    out: dict[str, object] = dict(
        interleaved(
            {
                "re-ranked (today)": lambda i: today.reply(ctxs[i]),
                "hybrid": lambda i: hybrid.reply(with_acks[i]),
            },
            len(ctxs),
        )
    )
    out["index_mb_on_disk"] = (model / INDEX_FILE).stat().st_size / 2**20
    out["memory_added_by_hybrid_load_mb"] = hybrid_mb
    out["hybrid_options"] = {
        k: getattr(hybrid.options, k) for k in ("retrieve", "beam_size", "hybrid_samples")
    }
    return out


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
    ap.add_argument(
        "--hybrid-ab", action="store_true", help="time today's reply and the hybrid's, interleaved"
    )
    ap.add_argument("--data-dir", type=Path, default=Path("data/bot"), help="the bot's files")
    ap.add_argument("--retrieve", type=int, default=12, help="hybrid: retrieved candidates")
    ap.add_argument("--hybrid-samples", type=int, default=0, help="hybrid: samples beside beams")
    ap.add_argument("--out", type=Path, help="write the JSON here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ctxs = contexts(max(args.n, args.batch * 4))
    if args.hybrid_ab:  # its own run: the loads it measures come first in the process
        result = {"load_avg_1m": os.getloadavg()[0], "threads": torch.get_num_threads()}
        hybrid = {"retrieve": args.retrieve, "hybrid_samples": args.hybrid_samples}
        result.update(hybrid_ab(Path(args.model), ctxs[: args.n], args.data_dir, **hybrid))
        result["load_avg_1m_after"] = os.getloadavg()[0]
        print(json.dumps(result, indent=2))
        if args.out:
            args.out.write_text(json.dumps(result, indent=2) + "\n")
        return
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
