"""``threadbot models``: list the registered model versions, import, promote, roll back.

An entry point (pyproject.toml); the registry's own commands, next to the versions they change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click

from agent.context import AppContext, pass_app
from agent.mlops.registry.loading import load_generator, load_parser
from agent.mlops.registry.models import KINDS, ModelVersion
from agent.mlops.registry.versions import (
    BY_CLI,
    RegistryError,
    list_versions,
    next_version,
    promote,
    register,
    require_version,
    rollback,
)
from generator.errors import GeneratorError
from nlu.errors import NLUError


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
            promote(session, row, BY_CLI)
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
            before = promote(session, row, BY_CLI)
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
            row = rollback(session, kind, BY_CLI)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{kind} {row.version} is active again")
