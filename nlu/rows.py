"""Read [text, label] rows (an intent, or a stance) from JSON, JSONL and CSV text, each with the
line it starts on."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from nlu.errors import Problem


def as_pair(value: object, label: str = "intent") -> tuple[object, object] | None:
    """Accept ``[text, label]`` or ``{"text": ..., label: ...}``."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    if isinstance(value, dict) and "text" in value and label in value:
        return value["text"], value[label]
    return None


def json_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
    """Yield the items of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        problems.append(Problem(source, _line(text, pos), "expected a JSON array of examples"))
        return
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            problems.append(Problem(source, exc.lineno, f"invalid JSON: {exc.msg}"))
            return
        yield _line(text, pos), value
        pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("]", pos):
            problems.append(Problem(source, _line(text, pos), "invalid JSON: expected ',' or ']'"))
            return


def jsonl_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
    """Yield one JSON value per non-blank line."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(Problem(source, number, f"invalid JSON: {exc.msg}"))


def csv_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
    """Yield (text, label) rows of a CSV file, skipping a ``text,intent`` or ``text,stance``
    header."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if reader.line_num == 1 and [c.strip().lower() for c in row] in (
            ["text", "intent"],
            ["text", "stance"],
        ):
            continue
        yield reader.line_num, row


def _skip(text: str, pos: int) -> int:
    """Return the index of the next non-whitespace character."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    """The 1-based line number of a character offset."""
    return text.count("\n", 0, pos) + 1
