"""Data functions for model versions; each takes the caller's session and never commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.mlops.registry.models import KINDS, ModelVersion
from agent.storage.models import utcnow


class RegistryError(RuntimeError):
    """A version is missing, or a promote or rollback cannot be done; the message says why."""


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known model kind, else raise ``RegistryError``."""
    if kind not in KINDS:
        raise RegistryError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}")
    return kind


def next_version(session: Session, kind: str) -> str:
    """A new version name such as ``generator-0007``: readable, sortable, safe as a folder name."""
    count = session.scalar(
        select(func.count()).select_from(ModelVersion).where(ModelVersion.kind == check_kind(kind))
    )
    return f"{kind}-{(count or 0) + 1:04d}"


def register(
    session: Session,
    kind: str,
    version: str,
    *,
    served_as: str,
    path: Path | str,
    parent: ModelVersion | None = None,
    data_hash: str | None = None,
    data_sizes: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    gate: str | None = None,
) -> ModelVersion:
    """Record a trained model as an inactive version.

    :raise RegistryError: the kind is unknown or the version name is taken.
    """
    row = ModelVersion(
        kind=check_kind(kind),
        version=version,
        served_as=served_as,
        path=str(path),
        parent_id=parent.id if parent else None,
        data_hash=data_hash,
        data_sizes=data_sizes or {},
        config=config or {},
        metrics=metrics or {},
        gate=gate,
        active=False,
    )
    if get_version(session, kind, version) is not None:
        raise RegistryError(f"{kind} version {version} is already registered")
    session.add(row)
    session.flush()
    return row


def get_version(session: Session, kind: str, version: str) -> ModelVersion | None:
    """The version named ``version`` of ``kind``, or None."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.version == version)
    )


def require_version(session: Session, kind: str, version: str) -> ModelVersion:
    """Like :func:`get_version`, raising ``RegistryError`` listing the known versions."""
    row = get_version(session, check_kind(kind), version)
    if row is None:
        known = ", ".join(v.version for v in list_versions(session, kind)) or "none"
        raise RegistryError(f"no {kind} version {version!r} (known: {known})")
    return row


def active_version(session: Session, kind: str) -> ModelVersion | None:
    """The version of ``kind`` that serves now, or None when none was ever promoted."""
    return session.scalar(
        select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.active.is_(True))
    )


def active_versions(session: Session) -> dict[str, ModelVersion]:
    """The serving version of each kind that has one."""
    rows = session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True)))
    return {row.kind: row for row in rows}


def list_versions(session: Session, kind: str | None = None) -> list[ModelVersion]:
    """Every version, oldest first, of one kind or all."""
    query = select(ModelVersion).order_by(ModelVersion.kind, ModelVersion.id)
    if kind is not None:
        query = query.where(ModelVersion.kind == check_kind(kind))
    return list(session.scalars(query))


def _lock_kind(session: Session, kind: str) -> ModelVersion | None:
    """Row-lock the kind's active version on PostgreSQL so concurrent promotes queue up."""
    return session.scalar(
        select(ModelVersion)
        .where(ModelVersion.kind == kind, ModelVersion.active.is_(True))
        .with_for_update()
    )


def _activate(session: Session, current: ModelVersion | None, target: ModelVersion) -> None:
    if current is not None:
        current.active = False
        # Flush the switch-off first: the partial unique index allows one active row at a time.
        session.flush()
    target.active = True
    try:
        session.flush()
    except IntegrityError as exc:
        raise RegistryError(
            f"another promote of a {target.kind} model happened at the same time; try again"
        ) from exc


# ``promoted_by`` for what a person typed at the command line (retrain, models).
BY_CLI = "cli"


def promote(session: Session, row: ModelVersion, by: str) -> ModelVersion | None:
    """Make ``row`` the serving version of its kind; returns the version it replaced."""
    current = _lock_kind(session, row.kind)
    if current is not None and current.id == row.id:
        raise RegistryError(f"{row.kind} version {row.version} is already active")
    _activate(session, current, row)
    row.replaced_id = current.id if current else None
    row.promoted_at = utcnow()
    row.promoted_by = by[:100]
    session.flush()
    return current


def rollback(session: Session, kind: str, by: str) -> ModelVersion:
    """Serve again the version the active one replaced; returns it.

    Rollback walks back the promotion history, so rolling back twice goes two steps back.

    :raise RegistryError: nothing is active, or the active version replaced nothing.
    """
    current = _lock_kind(session, check_kind(kind))
    if current is None:
        raise RegistryError(f"no {kind} version is active: nothing to roll back")
    target = session.get(ModelVersion, current.replaced_id) if current.replaced_id else None
    if target is None:
        raise RegistryError(
            f"{kind} version {current.version} replaced no earlier version: nothing to roll back to"
        )
    _activate(session, current, target)
    # replaced_id stays as it was, so a second rollback keeps walking back.
    target.promoted_at = utcnow()
    target.promoted_by = f"{by} (rollback)"[:100]
    session.flush()
    return target
