"""The ``retrain`` command group (``models`` is the registry's, ``users`` is in users_cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agent.context import AppContext, pass_app
from agent.core.runtime import load_checked_script
from agent.mlops.registry.store import StorageError
from agent.mlops.registry.versions import BY_CLI, RegistryError
from agent.mlops.retrain.lock import RetrainBusy, retrain_lock
from generator.errors import GeneratorError
from nlu.errors import NLUError


@click.group("retrain")
def retrain_group() -> None:
    """Retrain a model from reviewed logs, gate it against the active one, register it."""


_promote = click.option(
    "--promote", "force", is_flag=True, help="Promote even if the gate refuses the new model."
)
_dry_run = click.option(
    "--dry-run", is_flag=True, help="Build the snapshot, train and evaluate; register nothing."
)
_quiet = click.option("--quiet", is_flag=True, help="No progress bar.")


def _report(kind: str, published: Any) -> None:
    # The job already logged the snapshot, the training and the gate's verdict.
    if published is not None:
        state = "promoted: serving from the next poll" if published.promoted else "not promoted"
        click.echo(f"registered {kind} {published.version} at {published.path} ({state})")


@retrain_group.command("generator")
@_promote
@_dry_run
@click.option(
    "--from-scratch", is_flag=True, help="Train a new model instead of fine-tuning the active one."
)
@click.option(
    "--corpus",
    "extra_corpora",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Also train on this corpus, e.g. one `generator collect` wrote (repeatable); its "
    "conversations take the bot's topic and a share of them joins the held-out set.",
)
@click.option(
    "--allow-reuse",
    is_flag=True,
    help="The --corpus corpora's text may be posted as the bot's own replies (they join the "
    "rebuilt reply index of a hybrid model): reposting other people's tweets is your decision "
    "and responsibility (docs/generator.md).",
)
@click.option(
    "--ranker-train-examples",
    default=500,
    show_default=True,
    type=click.IntRange(1),
    help="Training messages the rebuilt ranker learns from (hybrid models only).",
)
@click.option(
    "--ranker-validation-examples",
    default=300,
    show_default=True,
    type=click.IntRange(1),
    help="Validation messages for the ranker's Hits@1/20, which the gate compares.",
)
@_quiet
@pass_app
def retrain_generator_cmd(
    app: AppContext,
    force: bool,
    dry_run: bool,
    from_scratch: bool,
    extra_corpora: tuple[Path, ...],
    allow_reuse: bool,
    ranker_train_examples: int,
    ranker_validation_examples: int,
    quiet: bool,
) -> None:
    """Fine-tune the generator on the base corpus plus approved and corrected replies.

    If the served model has a reply index and ranker, the new one gets its own, built from
    chitchat (and the --corpus corpora with --allow-reuse), and the gate compares the rankers.
    """
    from agent.mlops.retrain.generator_job import FallbackOptions, retrain_generator

    settings, sessions = app.settings, app.sessions
    topic = load_checked_script(settings).topic
    try:
        with retrain_lock(settings.model_dir):
            result = retrain_generator(
                settings,
                sessions,
                default_topic=topic,
                extra_corpora=extra_corpora,
                fallback=FallbackOptions(
                    allow_reuse=allow_reuse,
                    train_examples=ranker_train_examples,
                    validation_examples=ranker_validation_examples,
                ),
                from_scratch=from_scratch,
                force_promote=force,
                dry_run=dry_run,
                by=BY_CLI,
                log=click.echo,
                progress=not quiet,
            )
    except (RetrainBusy, RegistryError, StorageError, GeneratorError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    _report("generator", result.published)


@retrain_group.command("nlu")
@_promote
@_dry_run
@_quiet
@pass_app
def retrain_nlu_cmd(app: AppContext, force: bool, dry_run: bool, quiet: bool) -> None:
    """Retrain the NLU on intents.yml plus reviewers' corrected intents."""
    from agent.mlops.retrain.nlu_job import retrain_nlu

    settings, sessions = app.settings, app.sessions
    try:
        with retrain_lock(settings.model_dir):
            result = retrain_nlu(
                settings,
                sessions,
                force_promote=force,
                dry_run=dry_run,
                by=BY_CLI,
                log=click.echo,
                progress=not quiet,
            )
    except (RetrainBusy, RegistryError, StorageError, NLUError) as exc:
        raise click.ClickException(str(exc)) from None
    _report("nlu", result.published)
