"""Log set-up for the CLI, the Twitter loop and gunicorn: text for people, JSON for machines."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else was passed with `extra=` and is worth keeping.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so journald and CloudWatch can filter on fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # default=str: an odd `extra` value must never turn a log line into a crash.
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``log_format`` ("text" or "json")."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")


def configure_logging(
    level: str = "INFO", log_format: str = "text", root: logging.Logger | None = None
) -> None:
    """Send log lines to stderr in ``log_format``; systemd hands stderr to journald.

    Like ``logging.basicConfig``, it leaves alone a root logger that someone else already set
    up (pytest, an embedding app), but replaces its own handler so a second call never doubles
    every line.
    """
    root = root or logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_threadbot", False)]
    if len(ours) != len(root.handlers):
        return
    for old in ours:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    handler._threadbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
