"""CLINC150 benchmark: train on a variant's train split, report on its validation split.

Usage: .venv/bin/python bench/clinc150.py [--variants full,small,imbalanced,few10] [--out FILE]

The model is fitted on the train split (in-scope plus oos_train). Temperature and thresholds
are chosen on one half of the validation split and scored on the other half, then the other way
round; the pooled outcomes give the figures, so no example is scored by thresholds tuned on it.
Two gates are reported: `benchmark` maximises in-scope accuracy subject to oos recall >= 0.6
(wrong_cost 0, the published tables' measure) and `default` is what `threadbot nlu train` picks
(wrong_cost 1). Data: ../shared/data/clinc150.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from nlu.data import TrainingData, from_pairs  # noqa: E402
from nlu.evaluate import evaluate, metrics  # noqa: E402
from nlu.model import NLUModel, load  # noqa: E402
from nlu.train import TrainOptions, calibrate, save, split, train  # noqa: E402

DATA_DIR = ROOT.parent / "shared" / "data" / "clinc150"
FEW, FEW_PER_INTENT = "few10", 10
VARIANTS = ("full", "small", "imbalanced", "oos_plus", FEW)
TWEET = "@ada_bot hey can you tell me how long it takes to get a passport renewed these days?"
# Runs in a fresh interpreter so the figure is what a process holding only the model uses.
_MEMORY_PROBE = """
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import nlu
base = rss()
model = nlu.load(sys.argv[1])
for i in range(200):
    model.parse(f"what is my account balance number {i} please")
print(base, rss())
"""


# Shared with bench/clinc150_few.py, which reads the same files.
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DATA_DIR,
    show_default=True,
    help="Folder with the clinc150_<variant>_trainval.json files.",
)


def load_variant(variant: str, data_dir: Path) -> tuple[TrainingData, TrainingData]:
    """Return (train + oos_train, val + oos_val) of one CLINC150 variant.

    ``few10`` is drawn from ``full``: 10 training queries per intent (seed 0), all of
    ``oos_train``, and ``full``'s validation split.
    """
    source = "full" if variant == FEW else variant
    raw = json.loads((data_dir / f"clinc150_{source}_trainval.json").read_text())
    if variant == FEW:
        raw["train"] = few_per_intent(raw["train"], FEW_PER_INTENT, seed=0)
    train_data = from_pairs(raw["train"] + raw["oos_train"], f"clinc150 {variant} train")
    val_data = from_pairs(raw["val"] + raw["oos_val"], f"clinc150 {variant} val")
    return train_data, val_data


def few_per_intent(pairs: list[list[str]], k: int, seed: int) -> list[list[str]]:
    """``k`` pairs of each intent, drawn with ``seed`` from the intents in sorted order."""
    by_intent: dict[str, list[list[str]]] = defaultdict(list)
    for pair in pairs:
        by_intent[pair[1]].append(pair)
    rng = random.Random(seed)
    return [pair for intent in sorted(by_intent) for pair in rng.sample(by_intent[intent], k)]


def latency_ms(model: Any, texts: list[str]) -> dict[str, float]:
    """Per-call ``parse`` latency percentiles in milliseconds, after a warm-up."""
    for text in texts[:50]:
        model.parse(text)
    times = []
    for text in texts:
        start = time.perf_counter()
        model.parse(text)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    tweet = []
    for _ in range(200):
        start = time.perf_counter()
        model.parse(TWEET)
        tweet.append((time.perf_counter() - start) * 1000)
    return {
        "p50": round(statistics.median(times), 3),
        "p95": round(times[int(0.95 * len(times))], 3),
        "tweet_p50": round(statistics.median(tweet), 3),
    }


def memory_mb(model_dir: Path) -> dict[str, float]:
    """RSS of a fresh process after importing nlu, and after loading the model and parsing."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(model_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    return {"after_import": round(float(out[0]), 1), "loaded_and_parsing": round(float(out[1]), 1)}


def run_variant(variant: str, data_dir: Path, config: Path | None) -> dict[str, Any]:
    """Train, save, reload and evaluate one variant; return its figures."""
    train_data, val_data = load_variant(variant, data_dir)
    half_a, half_b = split(val_data, holdout=0.5, seed=0)
    started, cpu_started = time.perf_counter(), time.process_time()
    nlp = train(
        train_data,
        val=val_data.subset(half_a),
        config=config,
        options=TrainOptions(seed=0, wrong_cost=0.0),
    )
    train_s = time.perf_counter() - started
    # CPU seconds of all this process's threads: comparable across runs on a busy machine.
    train_cpu_s = time.process_time() - cpu_started
    result: dict[str, Any] = {
        "variant": variant,
        "train_examples": len(train_data.examples),
        "val_examples": len(val_data.examples),
        "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    model = NLUModel(nlp, Path("memory"))
    for name, cost in (("benchmark", 0.0), ("default", 1.0)):
        outcomes, gates = [], []
        for tune, score in ((half_a, half_b), (half_b, half_a)):
            gate = calibrate(nlp, tune, oos_name="oos", oos_recall=0.6, wrong_cost=cost)
            gates.append(gate)
            parses = model.parse_many(e.text for e in score)
            outcomes.extend(evaluate(score, parses).outcomes)
        m = metrics(outcomes)
        result[name] = {
            "in_scope_accuracy": m["in_scope_accuracy"],
            "oos_recall": m["oos_recall"],
            "in_scope_top1_accuracy": m["in_scope_top1_accuracy"],
            "gates": [[g.threshold, g.margin] for g in gates if g is not None],
        }
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save(nlp, Path(tmp) / "model")
        size_mb = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file()) / 2**20
        started = time.perf_counter()
        loaded = load(model_dir)
        result["load_seconds"] = round(time.perf_counter() - started, 2)
        result["latency_ms"] = latency_ms(loaded, [e.text for e in val_data.examples])
        result["memory_mb"] = memory_mb(model_dir)
    result["model_size_mb"] = round(size_mb, 1)
    return result


@click.command()
@click.option(
    "--variants",
    default="full,small,imbalanced",
    show_default=True,
    help=f"Comma-separated variants to run, from: {', '.join(VARIANTS)}.",
)
@data_dir_option
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="spaCy config to train with (default: nlu/config.cfg).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results as JSON to this file.",
)
def main(variants: str, data_dir: Path, config: Path | None, out: Path | None) -> None:
    """Train and score the NLU on CLINC150 variants; print one JSON object per variant."""
    chosen = [v.strip() for v in variants.split(",") if v.strip()]
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise click.BadParameter(f"unknown variant(s) {unknown}; choose from {VARIANTS}")
    if not data_dir.is_dir():
        raise click.BadParameter(f"{data_dir} does not exist", param_hint="--data-dir")
    results = {
        "hardware": f"{platform.machine()}, {_cpus()} CPU(s), {platform.python_version()}",
        "variants": [],
    }
    for variant in chosen:
        result = run_variant(variant, data_dir, config)
        click.echo(json.dumps(result))
        results["variants"].append(result)
    if out:
        out.write_text(json.dumps(results, indent=2))


def _cpus() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
