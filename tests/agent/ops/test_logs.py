"""JSON and text log lines, and a set-up that never doubles handlers."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from agent.ops.logs import JsonFormatter, configure_logging, make_formatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "agent.channels.twitter", "levelname": "INFO", "levelno": 20, "msg": "posted %s",
         "args": ("123",)}
    )  # fmt: skip
    record.__dict__.update(extra)
    return record


def test_json_line_has_fields_and_extras() -> None:
    line = JsonFormatter().format(_record(tweet_id="123", latency_ms=12.5))
    entry = json.loads(line)
    assert entry["message"] == "posted 123"
    assert entry["level"] == "INFO" and entry["logger"] == "agent.channels.twitter"
    assert entry["tweet_id"] == "123" and entry["latency_ms"] == 12.5
    assert entry["time"].endswith("+00:00")


def test_json_line_with_exception_and_odd_extra() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(thing=object())
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]
    assert entry["thing"].startswith("<object")


def test_unknown_format_refused() -> None:
    with pytest.raises(ValueError, match="'text' or 'json'"):
        make_formatter("xml")


@pytest.fixture
def bare_root() -> logging.Logger:
    """A stand-in root logger: pytest adds its own handlers to the real one during each test."""
    return logging.Logger("stand-in-root")


def test_configure_twice_keeps_one_handler(bare_root: logging.Logger) -> None:
    configure_logging("DEBUG", "text", root=bare_root)
    configure_logging("WARNING", "json", root=bare_root)
    assert len(bare_root.handlers) == 1
    assert isinstance(bare_root.handlers[0].formatter, JsonFormatter)
    assert bare_root.level == logging.WARNING


def test_leaves_someone_elses_logging_alone(bare_root: logging.Logger) -> None:
    theirs = logging.NullHandler()
    bare_root.addHandler(theirs)
    configure_logging("DEBUG", "json", root=bare_root)
    assert bare_root.handlers == [theirs]
