"""Run one retrain job in a background thread; its status lives in a file every worker can read."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.mlops.retrain.lock import RetrainBusy, retrain_lock
from agent.settings import Settings

STATUS_FILE = "retrain-status.json"
MAX_LINES = 200  # the page shows the tail; a long run's log stays in the server log


@dataclass
class JobStatus:
    """What the admin page shows: which job, its state, its log and its result."""

    kind: str
    by: str
    state: str = "running"  # running | done | failed
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None
    lines: list[str] = field(default_factory=list)
    result: str | None = None


def status_path(settings: Settings) -> Path:
    """Where the latest job's status is kept."""
    return settings.model_dir / STATUS_FILE


def read_status(settings: Settings) -> JobStatus | None:
    """The latest job's status, or None if no job ever ran here."""
    path = status_path(settings)
    if not path.exists():
        return None
    return JobStatus(**json.loads(path.read_text()))


def _write(path: Path, status: JobStatus) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(status)))
    tmp.replace(path)  # readers in other workers never see half a file


Job = Callable[[Callable[[str], None]], str]


def start_job(settings: Settings, kind: str, by: str, job: Job) -> threading.Thread:
    """Take the retrain lock and run ``job(log) -> result line`` in a daemon thread.

    :raise RetrainBusy: another retrain runs (in this process or any other).
    """
    ready = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        path = status_path(settings)
        try:
            with retrain_lock(settings.model_dir):
                status = JobStatus(kind, by)
                _write(path, status)
                ready.set()

                def log(line: str) -> None:
                    status.lines = [*status.lines, line][-MAX_LINES:]
                    _write(path, status)

                try:
                    status.result = job(log)
                    status.state = "done"
                except Exception as exc:  # shown on the page; the lock is released either way
                    status.state = "failed"
                    status.result = f"{type(exc).__name__}: {exc}"
                    log(traceback.format_exc(limit=3))
                status.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
                _write(path, status)
        except RetrainBusy as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=work, name=f"retrain-{kind}", daemon=True)
    thread.start()
    ready.wait()
    if failure:
        raise failure[0]
    return thread


def retrain_job(
    settings: Settings, sessions: sessionmaker[Session], kind: str, by: str, topic: str | None
) -> Job:
    """The job the "retrain now" button starts: the same code as the CLI, gate included."""

    def run(log: Callable[[str], None]) -> Any:
        if kind == "nlu":
            from agent.mlops.retrain.nlu_job import retrain_nlu

            result: Any = retrain_nlu(settings, sessions, by=by, log=log, progress=False)
        else:
            from agent.mlops.retrain.generator_job import retrain_generator

            result = retrain_generator(
                settings, sessions, default_topic=topic, by=by, log=log, progress=False
            )
        published = result.published
        verdict = "promoted" if published and published.promoted else "not promoted"
        return f"{published.version if published else 'nothing'} registered, {verdict}: " + (
            result.gate.summary()
        )

    return run
