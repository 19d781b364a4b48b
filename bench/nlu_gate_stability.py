"""How far the trust gate moves when a few training examples change (issue 23: "a gate that
holds still").

Trains the NLU on the bot's intents.yml, then ``--variants`` more times, each with 3 examples
removed at random or 3 added (a random example repeated with its first letter's case swapped,
as a person adds a near-paraphrase), each with its own seed for the change. Prints every
model's gate (threshold, margin) and how far each lies from the full model's.

    .venv/bin/python bench/nlu_gate_stability.py --variants 10
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.data import TrainingData, load_intents  # noqa: E402
from nlu.train import TrainOptions, train  # noqa: E402

CHANGED = 3  # examples removed or added per variant


def gate_of(data: TrainingData) -> tuple[float, float]:
    """The (threshold, margin) that training on ``data`` chooses (model seed 0, as shipped)."""
    nlp = train(data, options=TrainOptions(progress=False))
    gate = nlp.get_pipe("intent_gate").gate
    return gate.threshold, gate.margin


def variant(data: TrainingData, seed: int) -> tuple[TrainingData, str]:
    """``data`` with :data:`CHANGED` examples removed (even seeds) or added (odd seeds)."""
    rng = random.Random(seed)
    examples = list(data.examples)
    if seed % 2 == 0:
        for index in sorted(rng.sample(range(len(examples)), CHANGED), reverse=True):
            del examples[index]
        return replace(data, examples=examples), f"removed {CHANGED}"
    for source in rng.sample(examples, CHANGED):
        text = source.text[:1].swapcase() + source.text[1:] + " "
        examples.append(replace(source, text=text))
    return replace(data, examples=examples), f"added {CHANGED}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data/bot/intents.yml")
    ap.add_argument("--variants", type=int, default=10)
    ap.add_argument("--out", type=Path, help="also write the results as JSON")
    args = ap.parse_args()
    data = load_intents(args.data)
    started = time.perf_counter()
    full = gate_of(data)
    rows = [{"model": "full", "threshold": full[0], "margin": full[1]}]
    print(f"full: threshold {full[0]:.2f} margin {full[1]:.2f}")
    for seed in range(args.variants):
        changed, how = variant(data, seed)
        threshold, margin = gate_of(changed)
        moved = max(abs(threshold - full[0]), abs(margin - full[1]))
        rows.append({"model": how, "seed": seed, "threshold": threshold, "margin": margin})
        print(f"seed {seed} ({how}): threshold {threshold:.2f} margin {margin:.2f}", end="")
        print(f", moved {moved:.2f}")
    worst = max(max(abs(r["threshold"] - full[0]), abs(r["margin"] - full[1])) for r in rows[1:])
    seconds = time.perf_counter() - started
    print(f"largest move {worst:.2f} over {args.variants} variants ({seconds:.0f} s)")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "largest_move": worst}, indent=2) + "\n")


if __name__ == "__main__":
    main()
