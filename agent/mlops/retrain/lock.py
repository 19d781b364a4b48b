"""One retrain job at a time per model dir, across processes (CLI, web button, cron)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class RetrainBusy(RuntimeError):
    """Another retrain job holds the lock; the message says where."""


@contextlib.contextmanager
def retrain_lock(model_dir: Path) -> Iterator[None]:
    """Hold ``model_dir/retrain.lock`` or raise ``RetrainBusy`` at once (never queue a retrain).

    flock is released by the kernel when the process dies, so a crashed job never leaves a
    stale lock behind.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "retrain.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetrainBusy(f"another retrain job is running (lock {path})") from None
        yield
    finally:
        os.close(fd)
