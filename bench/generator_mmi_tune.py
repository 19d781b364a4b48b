"""Tune the MMI re-ranking weights on validation replies that the reported eval never uses.

    .venv/bin/python bench/generator_mmi_tune.py --model models/generator --n 500

Decodes each message once with the beam and the most samples tried, scores every candidate
with and without its context, then replays the re-ranking for every (samples, mmi_weight,
length_bonus) in the grid: re-ranking is cheap, decoding is not. The messages are chitchat
validation turns *outside* the `ai` topic, so the eval reported on `ai` validation stays
untouched by the tuning. Prints a table and the setting picked (highest salience among those
meeting generic rate < 10 % and distinct-2 >= 0.30); ``--out`` writes JSON and a PNG.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator import checkpoint, load
from generator.clean import prepare, split_conversations
from generator.data import GENERAL_TOPIC, iter_pairs, load_chitchat
from generator.decode import pad_sources, search
from generator.evaluate import distinct_n, generic_rate, salience
from generator.rerank import mmi_scores, reply_logprobs

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
BONUSES = (0.0, 0.25, 0.5, 1.0)
SAMPLES = (0, 2, 4, 8)


def tuning_pairs(model: str, n: int) -> list[tuple[tuple[str, ...], str]]:
    """``n`` (context, reference) pairs of the model's validation split, general topic only."""
    data = checkpoint.data_config(checkpoint.read(model))
    convs = prepare(load_chitchat(), max_turn_words=40, topics=[GENERAL_TOPIC])
    _, val = split_conversations(convs, data.val_fraction, data.split_seed)
    pairs = [(c, r) for c, r, _ in iter_pairs(val, data.context_turns)]
    random.Random(1).shuffle(pairs)
    return pairs[:n]


def main() -> None:
    """Decode once, replay the grid, print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/generator", help="model dir or checkpoint")
    ap.add_argument("--n", type=int, default=500, help="validation messages")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", type=Path, help="write JSON here (and a PNG beside it)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = load(args.model, seed=0, rerank=True)
    opts = replace(gen.options, seed=0)
    pairs = tuning_pairs(args.model, args.n)
    messages = [c[-1] for c, _ in pairs]
    rows: list[dict[str, object]] = []  # one per candidate
    with torch.inference_mode():
        for start in range(0, len(pairs), 64):
            part = pairs[start : start + 64]
            sources = [gen.tok.encode_context(list(c), GENERAL_TOPIC, 96) for c, _ in part]
            src, lens = pad_sources(sources, gen.tok.pad_id, gen.device)
            beams, samples = search(gen.model, gen.tok, src, lens, opts, 4, max(SAMPLES))
            cands = []
            for i, (bs, ss) in enumerate(zip(beams, samples, strict=True)):
                cands += [(start + i, -1, c) for c in bs]
                cands += [(start + i, j, c) for j, c in enumerate(ss)]
            owner = [o - start for o, _, _ in cands]
            lm = reply_logprobs(
                gen.model,
                gen.tok,
                [s[:1] for s in sources],
                owner,
                [c.ids for *_, c in cands],
                gen.device,
            )
            for (o, j, c), lm_lp in zip(cands, lm.tolist(), strict=True):
                rows.append({"owner": o, "sample": j, "ids": c.ids, "logp": c.logp, "lm": lm_lp})
            print(f"decoded {min(start + 64, len(pairs))}/{len(pairs)}", file=sys.stderr)
    logp = torch.tensor([r["logp"] for r in rows])
    lm = torch.tensor([r["lm"] for r in rows])
    length = torch.tensor([len(r["ids"]) + 1.0 for r in rows])  # type: ignore[arg-type]
    texts = [gen.tok.decode(r["ids"]) for r in rows]  # type: ignore[arg-type]
    results = []
    for n_samples, weight, bonus in itertools.product(SAMPLES, WEIGHTS, BONUSES):
        score = mmi_scores(logp, lm, length, weight, bonus).tolist()
        best: dict[int, tuple[float, str]] = {}
        for r, s, text in zip(rows, score, texts, strict=True):
            if int(r["sample"]) >= n_samples or not text:  # type: ignore[call-overload]
                continue
            o = int(r["owner"])  # type: ignore[call-overload]
            if o not in best or s > best[o][0]:
                best[o] = (s, text)
        replies = [best.get(i, (0.0, ""))[1] for i in range(len(pairs))]
        results.append(
            {
                "num_samples": n_samples,
                "mmi_weight": weight,
                "length_bonus": bonus,
                "generic_rate": generic_rate(replies),
                "distinct_2": distinct_n(replies, 2),
                "salience": salience(messages, replies),
                "words": sum(len(r.split()) for r in replies) / len(replies),
            }
        )
    ref = salience(messages, [r for _, r in pairs])
    ok = [r for r in results if r["generic_rate"] < 0.10 and r["distinct_2"] >= 0.30]
    pick = max(ok or results, key=lambda r: (r["salience"], -r["num_samples"]))
    print(
        f"{'samples':>7} {'mmi':>5} {'len':>5} {'generic':>8} {'dist-2':>7} {'sal':>6} {'words':>6}"
    )
    for r in results:
        print(
            f"{r['num_samples']:>7} {r['mmi_weight']:>5} {r['length_bonus']:>5} "
            f"{r['generic_rate']:>8.1%} {r['distinct_2']:>7.3f} {r['salience']:>6.3f} "
            f"{r['words']:>6.1f}"
        )
    print(f"reference salience {ref:.3f}; picked {json.dumps(pick)}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "model": gen.version,
                    "n": len(pairs),
                    "reference_salience": ref,
                    "picked": pick,
                    "grid": results,
                },
                indent=2,
            )
            + "\n"
        )
        plot(results, ref, args.out.with_suffix(".png"))


def plot(results: list[dict[str, float]], ref: float, path: Path) -> None:
    """Salience and generic rate against the MMI weight, one line per length bonus (4 samples)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for bonus in BONUSES:
        rs = [r for r in results if r["length_bonus"] == bonus and r["num_samples"] == 4]
        a.plot(
            [r["mmi_weight"] for r in rs], [r["salience"] for r in rs], "o-", label=f"len {bonus}"
        )
        b.plot([r["mmi_weight"] for r in rs], [r["generic_rate"] for r in rs], "o-")
    a.axhline(ref, color="grey", ls="--", label="references")
    a.set(xlabel="mmi_weight", ylabel="salience")
    b.axhline(0.10, color="grey", ls="--")
    b.set(xlabel="mmi_weight", ylabel="generic-reply rate")
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


if __name__ == "__main__":
    main()
