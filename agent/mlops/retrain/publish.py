"""Register a trained candidate: copy its files in, push them to the store, promote if allowed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.mlops.registry.store import ModelStore
from agent.mlops.registry.versions import next_version, promote, register
from agent.mlops.retrain.gate import GateResult


@dataclass
class Candidate:
    """A trained model waiting for the gate, with everything the registry records."""

    kind: str
    files: Path  # a folder whose contents become the version's folder
    data_hash: str
    data_sizes: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    active_metrics: dict[str, Any] | None
    gate: GateResult
    parent_id: int | None = None
    served_as: Callable[[Path], str] = field(default=lambda path: path.name)


@dataclass(frozen=True)
class Published:
    """What registering did."""

    version: str
    path: Path
    promoted: bool


def publish(
    sessions: sessionmaker[Session],
    candidate: Candidate,
    *,
    model_dir: Path,
    store: ModelStore | None,
    force: bool,
    by: str,
) -> Published:
    """Copy, push, register and (if the gate passed or ``force``) promote, in one transaction."""
    with sessions.begin() as session:
        version = next_version(session, candidate.kind)
        dest = model_dir / candidate.kind / version
        if dest.exists():  # left by a run whose transaction failed after copying
            shutil.rmtree(dest)
        shutil.copytree(candidate.files, dest)
        (dest / "registry.json").write_text(
            json.dumps({"metrics": candidate.metrics, "gate": candidate.gate.summary()}, indent=2)
            + "\n"
        )
        if store is not None:
            store.push(candidate.kind, version, dest)
        row = register(
            session,
            candidate.kind,
            version,
            served_as=candidate.served_as(dest),
            path=dest.resolve(),
            data_hash=candidate.data_hash,
            data_sizes=candidate.data_sizes,
            config=candidate.config,
            metrics={**candidate.metrics, "active_before": candidate.active_metrics},
            gate=candidate.gate.summary() + (" (promotion forced)" if force else ""),
        )
        row.parent_id = candidate.parent_id
        promoted = candidate.gate.passed or force
        if promoted:
            promote(session, row, by)
    return Published(version, dest, promoted)
