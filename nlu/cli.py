"""The ``threadbot nlu`` commands: validate, train, test, predict, convert, vectors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from nlu.data import TrainingData, check
from nlu.datafiles import load_data
from nlu.entity_scores import confusion_lines
from nlu.errors import DataError, ModelNotFoundError
from nlu.stance_data import FILE_NAME, StanceData, beside, load_stance

DATA_HELP = (
    "Training data: intents.yml, [text, intent] rows (.json, .jsonl, .csv), Rasa NLU YAML, "
    "SNIPS JSON, HWU64 CSV, or a folder of such files (docs/intents.md)."
)
_existing = click.Path(exists=True, dir_okay=False, path_type=Path)
_data = click.Path(exists=True, path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])


def config_and_seed(config_for: str, seed_for: str) -> Callable[[F], F]:
    """The ``--config`` and ``--seed`` options that training and cross-validation share."""

    def decorate(func: F) -> F:
        func = click.option(
            "--seed", type=int, default=0, show_default=True, help=f"Random seed for {seed_for}."
        )(func)
        return click.option(
            "--config",
            type=_existing,
            default=None,
            help=f"spaCy config {config_for} (default: nlu/config.cfg).",
        )(func)

    return decorate


@click.group("nlu")
def nlu() -> None:
    """Train, test and run the intent and entity model."""


def _load(path: Path, param: str = "--data") -> TrainingData:
    """Load data or turn its problems into a usage error listing each with file and line."""
    try:
        data = load_data(path)
    except DataError as exc:
        raise _bad_file(path, exc, param) from exc
    for warning in data.warnings:
        click.echo(str(warning), err=True)
    return data


def _stance(path: Path | None, param: str, training: bool = True) -> StanceData | None:
    """Read a stance file (None stays None) or turn its problems into a usage error."""
    if path is None:
        return None
    try:
        return load_stance(path, training=training)
    except DataError as exc:
        raise _bad_file(path, exc, param) from exc


def _bad_file(path: Path, exc: DataError, param: str) -> click.BadParameter:
    """A usage error listing each of a data file's problems with its file and line."""
    lines = "\n".join(f"  {p}" for p in exc.problems)
    return click.BadParameter(f"{path} has problems:\n{lines}", param_hint=param)


def _model(path: Path):
    """Load a model or turn the failure into a usage error."""
    from nlu.model import load

    try:
        return load(path)
    except ModelNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from exc


@nlu.command("validate")
@click.option("--data", "data_path", type=_data, required=True, help=DATA_HELP)
@click.option("--strict", is_flag=True, help="Exit with status 1 on warnings too.")
def validate(data_path: Path, strict: bool) -> None:
    """Check training data: malformed entries, duplicates, clashes, intents with few examples."""
    try:
        data = load_data(data_path)
    except DataError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from exc
    warnings = check(data)
    for problem in warnings:
        click.echo(str(problem), err=True)
    click.echo(
        f"{data_path}: {len(data.examples)} examples, {len(data.intent_names)} intents, "
        f"entity labels: {', '.join(sorted(data.entity_labels)) or 'none'}; "
        f"{len(warnings)} warning(s)"
    )
    if strict and warnings:
        raise SystemExit(1)


@nlu.command("train")
@click.option("--data", "data_path", type=_data, required=True, help=DATA_HELP)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the trained pipeline to (created or overwritten).",
)
@click.option(
    "--val",
    "val_path",
    type=_data,
    default=None,
    help="Validation data for calibration and thresholds (default: held out from --data).",
)
@config_and_seed("to build the pipeline from", "splits")
@click.option(
    "--oos-recall",
    type=click.FloatRange(0, 1),
    default=0.6,
    show_default=True,
    help="Out-of-scope recall the thresholds must reach when validation has such examples.",
)
@click.option(
    "--wrong-cost",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Cost of a wrong trusted answer, in right answers (0: maximise in-scope accuracy).",
)
@click.option(
    "--stance",
    "stance_path",
    type=_existing,
    default=None,
    help=f"Stance examples toward the bot's topic (default: {FILE_NAME} beside --data, if any).",
)
@click.option("--no-stance", is_flag=True, help="Train no stance classifier.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_cmd(
    data_path: Path,
    out: Path,
    val_path: Path | None,
    config: Path | None,
    seed: int,
    oos_recall: float,
    wrong_cost: float,
    stance_path: Path | None,
    no_stance: bool,
    quiet: bool,
) -> None:
    """Train a model from training data and save it as a spaCy pipeline directory."""
    from nlu.train import TrainOptions, save, train

    data = _load(data_path)
    val = _load(val_path, "--val") if val_path else None
    if len(data.intent_names) < 2:
        raise click.BadParameter("training needs at least two intents", param_hint="--data")
    if stance_path is not None and no_stance:
        raise click.UsageError("give --stance FILE or --no-stance, not both")
    stance = None if no_stance else _stance(stance_path or beside(data_path), "--stance")
    options = TrainOptions(
        seed=seed, oos_recall=oos_recall, wrong_cost=wrong_cost, progress=not quiet
    )
    nlp = train(data, val=val, config=config, options=options, stance=stance)
    save(nlp, out)
    meta = nlp.meta["threadbot"]
    score = meta["validation"]
    click.echo(
        f"saved {out} (data {meta['data_hash']}, {meta['examples']} examples, "
        f"{len(meta['labels'])} intents) in {meta['train_seconds']}s; "
        f"threshold {meta['gate']['threshold']}, margin {meta['gate']['margin']}; "
        f"validation in-scope accuracy {score.get('in_scope_accuracy')}, "
        f"oos recall {score.get('oos_recall')}"
    )
    if "entity_model" in meta:
        learned = meta["entity_model"]
        click.echo(
            f"entity model: open labels {', '.join(learned['labels'])}; "
            f"{learned['examples']} examples, {learned['epochs']} epochs"
        )
    if "stance" in meta:
        learned = meta["stance"]
        cv = learned["cross_validation"]
        click.echo(
            f"stance ({learned['source']}): {cv['messages']} examples; 5-fold macro-F1 "
            f"{cv['macro_f1']}, F_avg {cv['f_avg']}; sure above {learned['gate']['threshold']}"
        )


@nlu.command("test")
@click.option("--data", "data_path", type=_data, default=None, help=DATA_HELP)
@click.option(
    "--stance",
    "stance_path",
    type=_existing,
    default=None,
    help="Labelled stance messages (such as bench/stance/heldout.yml) to test the model's "
    "stance classifier on: per-side precision, recall and F1, macro-F1, F_avg.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Trained model directory to test (not needed with --cross-validation).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("nlu-report"),
    show_default=True,
    help="Directory for report.json, PNG plots and misclassified.json.",
)
@click.option(
    "--cross-validation",
    "folds",
    type=click.IntRange(min=2),
    default=None,
    help="Train and test K times on K folds of --data instead of testing --model.",
)
@config_and_seed("for --cross-validation training", "folds")
def test_cmd(
    data_path: Path | None,
    stance_path: Path | None,
    model_path: Path | None,
    out: Path,
    folds: int | None,
    config: Path | None,
    seed: int,
) -> None:
    """Evaluate a model on labelled intents (--data) or stances (--stance), or both, and
    write a report with plots."""
    if data_path is None and stance_path is None:
        raise click.UsageError("give --data (intents) or --stance (stances), or both")
    if stance_path is not None and (folds is not None or model_path is None):
        raise click.UsageError(
            "--stance tests a trained --model (training already cross-validates stance)"
        )
    # Loaded once for both reports; cross-validation trains its own.
    model = _model(model_path) if model_path is not None and folds is None else None
    if stance_path is not None and model is not None:
        _test_stance(model, stance_path, out)
    if data_path is None:
        return
    from nlu.evaluate import evaluate
    from nlu.report import write_report

    data = _load(data_path)
    if folds is None:
        if model is None:
            raise click.UsageError("give --model DIR, or --cross-validation K to train on folds")
        report = evaluate(data.examples, model.parse_many(e.text for e in data.examples))
        threshold = model.meta.get("gate", {}).get("threshold")
    else:
        from nlu.crossval import cross_validate

        report, threshold = cross_validate(data, folds, config=config, seed=seed)
    write_report(report, out, threshold)
    m = report.metrics
    oos = f", oos recall {m['oos_recall']}" if m["oos_recall"] is not None else ""
    click.echo(
        f"accuracy {m['accuracy']}, in-scope accuracy {m['in_scope_accuracy']}{oos}; "
        f"report in {out}"
    )
    if "entities" in m:
        micro = m["entities"]["micro"]
        click.echo(
            f"entities (strict): precision {micro['precision']}, recall {micro['recall']}, "
            f"F1 {micro['f1']} over {micro['support']} gold spans"
        )
        lines = confusion_lines(m["entities"])
        if lines:
            click.echo("most frequent entity confusions (gold -> predicted):")
            click.echo("\n".join(lines))


def _test_stance(model: Any, stance_path: Path, out: Path) -> None:
    """Score the model's stances on a labelled file; print the figures, write the report."""
    from nlu.report import write_stance_report
    from nlu.stance import confusion_table, stance_report

    data = _stance(stance_path, "--stance", training=False)
    assert data is not None
    parses = model.parse_many(e.text for e in data.examples)
    try:
        scores, wrong = stance_report(data.examples, [p.stance for p in parses])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from exc
    write_stance_report(scores, wrong, out)
    click.echo(f"stance on {scores['messages']} messages of {stance_path}:")
    for side, row in scores["per_stance"].items():
        click.echo(
            f"  {side:8} precision {row['precision']:.3f}  recall {row['recall']:.3f}  "
            f"F1 {row['f1']:.3f}  ({row['support']})"
        )
    click.echo(
        f"  macro-F1 {scores['macro_f1']:.3f}, F_avg {scores['f_avg']:.3f}, accuracy "
        f"{scores['accuracy']:.3f}; sure on {scores['sure_share']:.0%}, right "
        f"{scores['sure_precision'] or 0:.0%} of those"
    )
    click.echo("\n".join(f"  {line}" for line in confusion_table(scores)))
    click.echo(f"report in {out} (stance.json, stance_confusion.png, stance_misclassified.json)")


@nlu.command("predict")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Trained model directory.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many ranked intents to print per text.",
)
def predict(model_path: Path, top: int) -> None:
    """Read texts from stdin, one a line, and write one JSON parse a line to stdout."""
    model = _model(model_path)
    for line in tqdm(sys.stdin, desc="parsing", unit="text", disable=sys.stdin.isatty()):
        text = line.rstrip("\n")
        if not text.strip():
            continue
        p = model.parse(text)
        record = {
            "text": p.text,
            "intent": p.intent,
            "confidence": round(p.confidence, 4),
            "trusted": p.trusted,
            "intents": [
                {"name": s.name, "confidence": round(s.confidence, 4)} for s in p.intents[:top]
            ],
            "entities": [
                {
                    "label": e.label,
                    "text": e.text,
                    "start": e.start,
                    "end": e.end,
                    "value": e.value,
                    "source": e.source,
                }
                for e in p.entities
            ],
            "stance": p.stance.as_json() if p.stance else None,
            "model": model.version,
        }
        click.echo(json.dumps(record, ensure_ascii=False))


@nlu.command("convert")
@click.option("--data", "data_path", type=_data, required=True, help=DATA_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="intents.yml file to write (created or overwritten).",
)
def convert(data_path: Path, out: Path) -> None:
    """Convert training data in any format `train` reads to threadbot's intents.yml."""
    from nlu.writer import write_intents

    data = _load(data_path)
    write_intents(data, out)
    opened = ", ".join(sorted(data.open_labels)) or "none"
    click.echo(
        f"wrote {out}: {len(data.examples)} examples, {len(data.intent_names)} intents, "
        f"{len(data.entity_labels)} entity labels (open: {opened})"
    )


@nlu.command("vectors")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the table (default: the shipped nlu/chitchat_vectors.npz).",
)
@click.option("--dim", type=click.IntRange(min=2), default=100, show_default=True)
@click.option(
    "--window", type=click.IntRange(min=1), default=4, show_default=True, help="Context words."
)
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Keep words seen at least this often.",
)
def vectors_cmd(out: Path | None, dim: int, window: int, min_count: int) -> None:
    """Rebuild the word vectors from the chitchat-dataset messages (about a CPU minute)."""
    from nlu.wordvectors import SHIPPED, VectorSettings, build, chitchat_messages, normalised

    settings = VectorSettings(dim=dim, window=window, min_count=min_count)
    table = build(normalised(chitchat_messages()), settings)
    path = table.save(out or SHIPPED)
    near = ", ".join(w for w, _ in table.nearest("money", 5))
    click.echo(
        f"wrote {path}: {len(table.words)} words x {table.dim} dimensions, "
        f"{path.stat().st_size / 1e6:.1f} MB; nearest to 'money': {near}"
    )


if __name__ == "__main__":
    nlu()
