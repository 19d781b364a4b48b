"""`threadbot store ...`: push, pull and list model versions in the model store (an entry
point, pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import click

from agent.context import AppContext, pass_app
from agent.mlops.registry.store import ModelStore, StorageError, open_store


def _store(app: AppContext, url: str | None) -> ModelStore:
    if not url:
        url = app.settings.model_store
    if not url:
        raise click.UsageError("no store given: pass --store or set THREADBOT_MODEL_STORE")
    try:
        return open_store(url)
    except StorageError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from None


_STORE_OPTION = click.option(
    "--store",
    "url",
    default=None,
    help="A folder or s3://bucket/prefix (default: THREADBOT_MODEL_STORE).",
)


@click.group("store")
def store_group() -> None:
    """Push, list and pull model versions in the model store (a folder or S3)."""


@store_group.command("push")
@_STORE_OPTION
@click.argument("kind")
@click.argument("version")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_app
def store_push(app: AppContext, url: str | None, kind: str, version: str, source: Path) -> None:
    """Upload the model folder SOURCE as KIND (nlu, generator) version VERSION."""
    store = _store(app, url)
    try:
        entries = store.push(kind, version, source)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    size = sum(e.size for e in entries)
    click.echo(
        f"pushed {kind} {version}: {len(entries)} files, {size:,} bytes to {store.describe()}"
    )


@store_group.command("pull")
@_STORE_OPTION
@click.argument("kind")
@click.argument("version")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@pass_app
def store_pull(app: AppContext, url: str | None, kind: str, version: str, dest: Path) -> None:
    """Download KIND version VERSION into the new folder DEST, checking every file's sha256."""
    store = _store(app, url)
    try:
        store.pull(kind, version, dest)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"pulled {kind} {version} into {dest}")


@store_group.command("list")
@_STORE_OPTION
@click.argument("kind")
@pass_app
def store_list(app: AppContext, url: str | None, kind: str) -> None:
    """List the complete versions of KIND in the store."""
    store = _store(app, url)
    try:
        versions = store.versions(kind)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    for version in versions:
        click.echo(version)
    if not versions:
        click.echo(f"no {kind} versions in {store.describe()}", err=True)
