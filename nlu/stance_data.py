"""Read labelled stance examples: which side a message takes toward the bot's topic.

Two YAML layouts, both with line numbers in every error: a training file grouped by side as
``intents.yml`` groups by intent (``stances: [{name, examples}]``), and a test file of rows
(``messages: [{text, stance}]``); and, as for intents, [text, stance] rows in JSON, JSONL or
CSV. Labels are SemEval-2016 Task 6's: favor, against, none.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.chars import SURROGATE
from nlu.data import DATA_SUFFIXES
from nlu.errors import DataError, Problem
from nlu.rows import as_pair, csv_rows, json_rows, jsonl_rows
from nlu.yamlnodes import YamlReader, compose

STANCES = ("favor", "against", "none")
# The stances that take a side (SemEval-2016's F_avg is the mean F1 of these two).
SIDES = STANCES[:2]
MIN_PER_STANCE = 3  # fewer examples of a side than this cannot teach a classifier that side
FILE_NAME = "stance.yml"  # looked for beside intents.yml


@dataclass(frozen=True)
class StanceExample:
    """One message and the side it takes."""

    text: str
    stance: str
    line: int | None = None


@dataclass
class StanceData:
    """Labelled messages read from one file, and the topic they take sides on."""

    source: str
    examples: list[StanceExample] = field(default_factory=list)
    topic: str | None = None

    def counts(self) -> dict[str, int]:
        """Examples per side, in the fixed side order."""
        have = Counter(e.stance for e in self.examples)
        return {s: have[s] for s in STANCES}

    def digest(self) -> str:
        """A short hash of what training reads (part of the NLU model's data hash)."""
        rows = [[e.text, e.stance] for e in self.examples]
        return hashlib.sha256(json.dumps([self.topic, rows]).encode()).hexdigest()[:12]


def with_off_topic(data: StanceData, messages: Iterable[str]) -> StanceData:
    """``data`` with ``messages`` added as ``none``, those it does not have already.

    Training passes the bot's out-of-scope intent examples ("do you like my dog?"): a message
    off the topic takes no side on it, and without them the classifier, which learned only
    messages about the topic, was sure "my cat kept me up all night" argued for it.
    """
    have = {e.text.casefold() for e in data.examples}
    added = []
    for text in messages:
        if text.casefold() not in have:
            have.add(text.casefold())
            added.append(StanceExample(text, "none"))
    return StanceData(data.source, [*data.examples, *added], data.topic)


def beside(intents: Path) -> Path | None:
    """The stance file that goes with an intents file or data folder, if there is one."""
    folder = intents if intents.is_dir() else intents.parent
    path = folder / FILE_NAME
    return path if path.is_file() else None


def load_stance(path: str | Path, *, training: bool = True) -> StanceData:
    """Read a stance file; ``DataError`` lists every problem with its line. A ``training``
    file must teach every side (at least ``MIN_PER_STANCE`` examples of each)."""
    path = Path(path)
    problems: list[Problem] = []
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise DataError(
            [Problem(str(path), None, "unknown file type; use .yml, .json, .jsonl or .csv")]
        )
    data = StanceData(str(path))
    if path.suffix.lower() in {".yml", ".yaml"}:
        _read_yaml(path, data, problems)
    else:
        _read_rows(path, data, problems)
    if not problems and not data.examples:
        problems.append(Problem(str(path), None, "no labelled messages found"))
    if not problems and training:
        for side, n in data.counts().items():
            if n < MIN_PER_STANCE:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        f"{n} example(s) of {side!r}: need at least {MIN_PER_STANCE}",
                    )
                )
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line or 0))
    return data


def _add(
    data: StanceData, reader_problems: list[Problem], text: str, stance: str, line: int | None
) -> None:
    if stance not in STANCES:
        reader_problems.append(
            Problem(data.source, line, f"unknown stance {stance!r}; expected {', '.join(STANCES)}")
        )
        return
    if not text.strip():
        reader_problems.append(Problem(data.source, line, "an empty message"))
        return
    if SURROGATE.search(text):
        message = "the text holds half of a UTF-16 surrogate pair, which is no character"
        reader_problems.append(Problem(data.source, line, message))
        return
    data.examples.append(StanceExample(text, stance, line))


def _read_yaml(path: Path, data: StanceData, problems: list[Problem]) -> None:
    root = compose(path, problems)
    if root is None:
        if not problems:
            problems.append(Problem(str(path), 1, "the file is empty; expected `stances:`"))
        return
    reader = YamlReader(str(path), problems)
    top = reader.mapping(root, "the top level")
    for key, node in top.items():
        if key not in {"version", "topic", "stances", "messages"}:
            reader.add(
                node, f"unknown top-level key {key!r}; expected stances or messages, topic, version"
            )
    if "topic" in top:
        data.topic = reader.string(top["topic"], "the topic")
    if "stances" not in top and "messages" not in top:
        reader.add(root, "missing a `stances:` list (or `messages:` rows)")
    if "stances" in top:
        _read_groups(reader, top["stances"], data)
    if "messages" in top:
        _read_messages(reader, top["messages"], data)


def _read_groups(reader: YamlReader, node: yaml.Node, data: StanceData) -> None:
    """``stances: [{name, examples}]``, as intents.yml groups its examples."""
    seen: set[str] = set()
    for item in reader.sequence(node, "`stances`"):
        fields = reader.mapping(item, "a stance")
        for key, value in fields.items():
            if key not in {"name", "examples"}:
                reader.add(value, f"unknown stance key {key!r}; expected name, examples")
        name = reader.string(fields["name"], "a stance name") if "name" in fields else None
        if name is None:
            if fields and "name" not in fields:
                reader.add(item, "a stance needs a `name`")
            continue
        if name in seen:
            reader.add(fields["name"], f"stance {name!r} is listed twice")
            continue
        seen.add(name)
        for ex in reader.sequence(fields.get("examples", item), f"the examples of {name!r}"):
            text = reader.string(ex, "an example")
            if text is not None:
                _add(data, reader.problems, text, name, ex.start_mark.line + 1)


def _read_messages(reader: YamlReader, node: yaml.Node, data: StanceData) -> None:
    """``messages: [{text, stance}]``: one labelled message a row (a test set's layout)."""
    for item in reader.sequence(node, "`messages`"):
        fields = reader.mapping(item, "a message")
        if set(fields) != {"text", "stance"}:
            reader.add(item, "a message needs exactly `text` and `stance`")
            continue
        text = reader.string(fields["text"], "a message's text")
        stance = reader.string(fields["stance"], "a message's stance")
        if text is not None and stance is not None:
            _add(data, reader.problems, text, stance, item.start_mark.line + 1)


def _read_rows(path: Path, data: StanceData, problems: list[Problem]) -> None:
    """[text, stance] rows of JSON, JSONL or CSV."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read the file: {exc.strerror}"))
        return
    rows = {".json": json_rows, ".jsonl": jsonl_rows, ".csv": csv_rows}[path.suffix.lower()]
    for line, value in rows(text, str(path), problems):
        pair = as_pair(value, "stance")
        if pair is None or not all(isinstance(x, str) for x in pair):
            problems.append(Problem(str(path), line, "expected [text, stance] or {text, stance}"))
            continue
        _add(data, problems, str(pair[0]), str(pair[1]), line)
