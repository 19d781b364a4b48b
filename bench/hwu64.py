"""HWU64 entity benchmark: strict entity F1 on a seeded held-out part, through the CLI.

Usage: .venv/bin/python bench/hwu64.py [--holdout 0.2] [--seed 0] [--rules-only] [--out DIR]

The HWU64 training files (../shared/data/hwu64, one CSV per intent, ``[type : value]``
annotations) are read as they are, split by utterance (each intent's share held out, seeded),
written as intents.yml by the converter, then trained with ``threadbot nlu train`` and scored
with ``threadbot nlu test``. ``--rules-only`` marks every label closed: the annotated phrases
become exact-match rules, which is what the NLU did before it learned entities.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from nlu.cli import nlu  # noqa: E402
from nlu.datafiles import load_data  # noqa: E402
from nlu.train import split  # noqa: E402
from nlu.writer import write_intents  # noqa: E402

DATA_DIR = ROOT.parent / "shared" / "data" / "hwu64"


def run(args: list[str]) -> str:
    """Run one ``threadbot nlu`` command in process; raise with its output when it fails."""
    result = CliRunner().invoke(nlu, args)
    if result.exit_code != 0:
        raise click.ClickException(f"nlu {' '.join(args)} failed:\n{result.output}")
    return result.output


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DATA_DIR,
    show_default=True,
    help="Folder with the HWU64 trainset_*.csv files.",
)
@click.option("--holdout", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option("--rules-only", is_flag=True, help="Closed labels: exact-match rules, no model.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("hwu64-bench"),
    show_default=True,
    help="Folder for the split files, the model and the report.",
)
def main(data_dir: Path, holdout: float, seed: int, rules_only: bool, out: Path) -> None:
    """Split HWU64, train and test through the CLI, print the entity figures as JSON."""
    if not data_dir.is_dir():
        raise click.BadParameter(f"{data_dir} does not exist", param_hint="--data-dir")
    data = load_data(data_dir)
    if rules_only:
        for spec in data.entities.values():
            spec.open = False
    train_ex, test_ex = split(data, holdout, seed)
    out.mkdir(parents=True, exist_ok=True)
    train_file = write_intents(data.subset(train_ex), out / "train.yml")
    test_file = write_intents(data.subset(test_ex), out / "test.yml")
    started, cpu_started = time.perf_counter(), time.process_time()
    run(["train", "--data", str(train_file), "--out", str(out / "model"), "--quiet"])
    train_s, train_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    run(["test", "--data", str(test_file), "--model", str(out / "model"), "--out", str(out)])
    report = json.loads((out / "report.json").read_text())
    result = {
        "hardware": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU(s)",
        "mode": "rules only" if rules_only else "rules + entity model",
        "train_examples": len(train_ex),
        "test_examples": len(test_ex),
        "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "entities": report["entities"]["micro"],
        "by_source": report["entities"]["by_source"],
        "intent_accuracy": report["accuracy"],
    }
    click.echo(json.dumps(result))


if __name__ == "__main__":
    main()
