"""The ``retrain``, ``models`` and ``users`` command groups."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from agent.context import AppContext, pass_app
from agent.core.runtime import load_checked_script
from agent.mlops.registry.loading import load_generator, load_parser
from agent.mlops.registry.models import KINDS, ModelVersion
from agent.mlops.registry.versions import (
    RegistryError,
    list_versions,
    next_version,
    promote,
    register,
    require_version,
    rollback,
)
from agent.mlops.retrain.forget import drop_snapshots, find_users, forget
from agent.mlops.retrain.lock import RetrainBusy, retrain_lock
from agent.ops.storage import StorageError
from generator.errors import GeneratorError
from nlu.errors import NLUError

WHO = "cli"


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
                by=WHO,
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
                by=WHO,
                log=click.echo,
                progress=not quiet,
            )
    except (RetrainBusy, RegistryError, StorageError, NLUError) as exc:
        raise click.ClickException(str(exc)) from None
    _report("nlu", result.published)


@click.group("models")
def models_group() -> None:
    """List the registered model versions, promote one, or roll back."""


def _row(row: ModelVersion) -> str:
    shown = ", ".join(
        f"{name}={value}" for name, value in sorted(row.metrics.items()) if name != "active_before"
    )
    mark = "*" if row.active else " "
    return f"{mark} {row.kind:9} {row.version:16} {row.created_at:%Y-%m-%d %H:%M}  {shown}"


@models_group.command("list")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind of model.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per version.")
@pass_app
def models_list(app: AppContext, kind: str | None, as_json: bool) -> None:
    """Show every registered version; * marks the active one of each kind."""
    with app.sessions() as session:
        rows = list_versions(session, kind)
        for v in rows:
            if as_json:
                click.echo(json.dumps(_as_dict(v), default=str))
            else:
                click.echo(_row(v))
        if not rows and not as_json:
            click.echo("no model versions registered yet: run `threadbot retrain generator`")


def _as_dict(v: ModelVersion) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "version": v.version,
        "served_as": v.served_as,
        "active": v.active,
        "path": v.path,
        "created_at": v.created_at,
        "promoted_at": v.promoted_at,
        "promoted_by": v.promoted_by,
        "data_hash": v.data_hash,
        "data_sizes": v.data_sizes,
        "metrics": v.metrics,
        "gate": v.gate,
    }


@models_group.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--promote", "activate", is_flag=True, help="Also make it the active version.")
@pass_app
def models_import(app: AppContext, kind: str, path: Path, activate: bool) -> None:
    """Register an existing model folder (e.g. the shipped one) so rollback can return to it."""
    settings = app.settings
    loader = load_parser if kind == "nlu" else load_generator
    try:
        model = loader(path)
    except (NLUError, GeneratorError) as exc:
        raise click.BadParameter(str(exc), param_hint="PATH") from None
    with app.sessions.begin() as session:
        version = next_version(session, kind)
        dest = settings.model_dir / kind / version
        shutil.copytree(path, dest)
        row = register(session, kind, version, served_as=model.version, path=dest.resolve())
        row.gate = f"imported from {path}"
        if activate:
            promote(session, row, WHO)
    state = "active" if activate else "not active"
    click.echo(f"registered {kind} {version} ({model.version}) from {path}: {state}")


@models_group.command("promote")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("version")
@pass_app
def models_promote(app: AppContext, kind: str, version: str) -> None:
    """Serve VERSION of KIND from the next watcher poll (web and Twitter processes)."""
    try:
        with app.sessions.begin() as session:
            row = require_version(session, kind, version)
            before = promote(session, row, WHO)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{kind} {version} is active (was {before.version if before else 'none'})")


@models_group.command("rollback")
@click.argument("kind", type=click.Choice(KINDS))
@pass_app
def models_rollback(app: AppContext, kind: str) -> None:
    """Serve again the KIND version the active one replaced."""
    try:
        with app.sessions.begin() as session:
            row = rollback(session, kind, WHO)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{kind} {row.version} is active again")


@click.group("users")
def users_group() -> None:
    """Data requests from the people the bot talks to."""


@users_group.command("forget")
@click.argument("handle")
@click.confirmation_option(prompt="This deletes the user's turns for good. Continue?")
@pass_app
def users_forget(app: AppContext, handle: str) -> None:
    """Delete HANDLE's turns and keep them out of every future training snapshot."""
    settings = app.settings
    with app.sessions.begin() as session:
        users = find_users(session, handle)
        if not users:
            raise click.ClickException(f"no user with handle {handle!r}")
        turns, mentions, turn_ids = forget(session, users)
    dropped = drop_snapshots(settings.model_dir / "snapshots", turn_ids)
    click.echo(
        f"forgot {handle}: {len(users)} account(s), {turns} turn(s), {mentions} Twitter row(s), "
        f"{dropped} snapshot(s) deleted; they are opted out and never trained on"
    )
