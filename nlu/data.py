"""Load training data: ``intents.yml`` with inline entity annotations, or [text, intent] lists."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.errors import DataError, Problem

# [text](label): the text may not hold brackets or a newline; labels are identifiers.
ANNOTATION = re.compile(r"\[(?P<text>[^\[\]\n]+)\]\((?P<label>[A-Za-z_][\w-]*)\)")
# Fewer examples than this per intent trains a classifier that guesses; validate warns.
MIN_EXAMPLES = 5
OUT_OF_SCOPE = ("out_of_scope", "oos")
_INTENT_KEYS = {"name", "examples"}
_ENTITY_KEYS = {"synonyms", "lookup", "patterns"}


@dataclass(frozen=True)
class Span:
    """A labelled character span of an example's plain text."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Example:
    """One training utterance: plain text (annotations removed), intent, entity spans, line."""

    text: str
    intent: str
    spans: tuple[Span, ...] = ()
    line: int | None = None


@dataclass
class EntityDef:
    """An entity label's canonical values, lookup phrases and regex patterns."""

    label: str
    synonyms: dict[str, str] = field(default_factory=dict)  # lowercased variant -> canonical
    lookup: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)

    def canonical(self, text: str) -> str:
        """Map a matched text to its canonical value (itself when no synonym applies)."""
        return self.synonyms.get(text.casefold(), text)

    def phrases(self) -> list[str]:
        """Every literal phrase that names this entity: canonicals, variants, lookups."""
        seen = dict.fromkeys([*self.synonyms.values(), *self.synonyms, *self.lookup])
        return list(seen)


@dataclass
class TrainingData:
    """Examples plus entity definitions read from one file."""

    source: str
    examples: list[Example]
    entities: dict[str, EntityDef] = field(default_factory=dict)
    # Where each intent is declared, so findings about a whole intent can point at it.
    intent_lines: dict[str, int | None] = field(default_factory=dict)

    @property
    def intent_names(self) -> set[str]:
        """Every intent with at least one example or declaration."""
        return {e.intent for e in self.examples} | set(self.intent_lines)

    @property
    def entity_labels(self) -> set[str]:
        """Labels declared under ``entities`` or used in an annotation."""
        used = {s.label for e in self.examples for s in e.spans}
        return used | set(self.entities)

    @property
    def out_of_scope(self) -> str | None:
        """The name of the explicit out-of-scope intent, if the data has one."""
        return next((n for n in OUT_OF_SCOPE if n in self.intent_names), None)

    def digest(self) -> str:
        """A short hash of everything training reads, so a model names the data it came from."""
        payload = {
            "examples": [
                [e.text, e.intent, [[s.start, s.end, s.label] for s in e.spans]]
                for e in self.examples
            ],
            "entities": {
                k: [v.synonyms, v.lookup, v.patterns] for k, v in sorted(self.entities.items())
            },
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def subset(self, examples: Iterable[Example]) -> TrainingData:
        """The same entity definitions with another list of examples (for splits and folds)."""
        return TrainingData(self.source, list(examples), self.entities, {})


def parse_annotated(text: str) -> tuple[str, tuple[Span, ...], str | None]:
    """Strip ``[text](label)`` annotations; return plain text, spans and an error or None."""
    plain: list[str] = []
    spans: list[Span] = []
    pos = 0
    for m in ANNOTATION.finditer(text):
        plain.append(text[pos : m.start()])
        start = sum(map(len, plain))
        plain.append(m["text"])
        spans.append(Span(start, start + len(m["text"]), m["label"]))
        pos = m.end()
    plain.append(text[pos:])
    result = "".join(plain)
    # Any bracket left over is a half-written annotation such as "[ml](" or "[ml] (topic)".
    leftover = ANNOTATION.sub("", text)
    if any(c in leftover for c in "[]"):
        return result, tuple(spans), "malformed entity annotation; write it as [text](label)"
    return result, tuple(spans), None


def load_intents(path: str | Path) -> TrainingData:
    """Read an ``intents.yml`` file; raise ``DataError`` listing every problem with its line."""
    path = Path(path)
    problems: list[Problem] = []
    root = _compose(path, problems)
    data = TrainingData(str(path), [])
    if root is None:
        if not problems:
            problems.append(Problem(str(path), 1, "the file is empty; expected `intents:`"))
        raise DataError(problems)
    reader = _YamlReader(str(path), problems)
    top = reader.mapping(root, "the top level")
    for key, node in top.items():
        if key not in {"version", "intents", "entities"}:
            reader.add(node, f"unknown top-level key {key!r}; expected intents, entities, version")
    if "intents" not in top:
        reader.add(root, "missing `intents:` list")
    else:
        _read_intents(reader, top["intents"], data)
    if "entities" in top:
        _read_entities(reader, top["entities"], data)
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line or 0))
    return data


def load_data(path: str | Path) -> TrainingData:
    """Read training data by file type: YAML intents, or [text, intent] JSON, JSONL or CSV."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".yml", ".yaml"}:
        return load_intents(path)
    if suffix not in {".json", ".jsonl", ".csv"}:
        message = "unknown file type; use .yml, .json, .jsonl or .csv"
        raise DataError([Problem(str(path), None, message)])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror}"
        raise DataError([Problem(str(path), None, message)]) from exc
    problems: list[Problem] = []
    rows = {".json": _json_rows, ".jsonl": _jsonl_rows, ".csv": _csv_rows}[suffix]
    examples = []
    for line, value in rows(text, str(path), problems):
        pair = _as_pair(value)
        if pair is None:
            problems.append(Problem(str(path), line, "expected [text, intent] or {text, intent}"))
            continue
        example = _example(pair[0], pair[1], line, str(path), problems)
        if example is not None:
            examples.append(example)
    if not examples and not problems:
        problems.append(Problem(str(path), None, "no examples found"))
    if problems:
        raise DataError(problems)
    return TrainingData(str(path), examples)


def from_pairs(pairs: Iterable[tuple[str, str]], source: str = "<memory>") -> TrainingData:
    """Build training data from (text, intent) pairs already in memory, such as a benchmark."""
    return TrainingData(source, [Example(t, i) for t, i in pairs])


def check(data: TrainingData) -> list[Problem]:
    """Find what loads but hurts training: duplicates, clashes between intents, tiny intents."""
    found: list[Problem] = []
    seen: dict[str, Example] = {}
    counts: dict[str, int] = defaultdict(int)
    for ex in data.examples:
        counts[ex.intent] += 1
        key = " ".join(ex.text.casefold().split())
        first = seen.get(key)
        if first is None:
            seen[key] = ex
        elif first.intent == ex.intent:
            msg = f"duplicate example {ex.text!r} in {ex.intent!r} (first at line {first.line})"
            found.append(Problem(data.source, ex.line, msg, "warning"))
        else:
            msg = (
                f"example {ex.text!r} is under both {first.intent!r} (line {first.line}) "
                f"and {ex.intent!r}"
            )
            found.append(Problem(data.source, ex.line, msg, "warning"))
    for intent in sorted(data.intent_names):
        if counts[intent] < MIN_EXAMPLES:
            msg = (
                f"intent {intent!r} has {counts[intent]} example(s); give it {MIN_EXAMPLES} or more"
            )
            found.append(Problem(data.source, data.intent_lines.get(intent), msg, "warning"))
    return found


def _example(
    text: object, intent: object, line: int | None, source: str, problems: list[Problem]
) -> Example | None:
    """Validate one raw (text, intent) pair and turn it into an ``Example``."""
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(source, line, "an example must be a non-empty string"))
        return None
    if not isinstance(intent, str) or not intent.strip():
        problems.append(Problem(source, line, "the intent must be a non-empty string"))
        return None
    plain, spans, error = parse_annotated(text)
    if error:
        problems.append(Problem(source, line, f"{error}: {text!r}"))
        return None
    return Example(plain.strip() if not spans else plain, intent.strip(), spans, line)


def _as_pair(value: object) -> tuple[object, object] | None:
    """Accept ``[text, intent]`` or ``{"text": ..., "intent": ...}``."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    if isinstance(value, dict) and "text" in value and "intent" in value:
        return value["text"], value["intent"]
    return None


def _json_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
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


def _jsonl_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
    """Yield one JSON value per non-blank line."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(Problem(source, number, f"invalid JSON: {exc.msg}"))


def _csv_rows(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[int, object]]:
    """Yield (text, intent) rows of a CSV file, skipping a ``text,intent`` header."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if reader.line_num == 1 and [c.strip().lower() for c in row] == ["text", "intent"]:
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


def _compose(path: Path, problems: list[Problem]) -> yaml.Node | None:
    """Parse YAML into nodes (which keep line numbers); record syntax errors as problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(Problem(str(path), None, f"cannot read the file: {exc.strerror}"))
        return None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problems.append(Problem(str(path), line, f"invalid YAML: {exc.problem}"))
        return None


class _YamlReader:
    """Reads YAML nodes into Python values, recording shape errors with their line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems

    def add(self, node: yaml.Node, message: str) -> None:
        """Record a problem at a node's line."""
        self.problems.append(Problem(self.source, node.start_mark.line + 1, message))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
        """Return a mapping node's string keys and value nodes, or {} after a problem."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, f"{what} must be a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.string(key, f"a key in {what}")
            if name is None:
                continue
            if name in out:
                self.add(key, f"{what} repeats the key {name!r}")
            out[name] = value
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """Return a sequence node's items, or [] after a problem."""
        if not isinstance(node, yaml.SequenceNode):
            self.add(node, f"{what} must be a list")
            return []
        return list(node.value)

    def string(self, node: yaml.Node, what: str) -> str | None:
        """Return a scalar as text; YAML's yes/no/numbers are refused, since they change meaning."""
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            self.add(node, f"{what} must be a non-empty string")
            return None
        if node.tag != "tag:yaml.org,2002:str":
            self.add(node, f"{what} {node.value!r} is read by YAML as a non-string; quote it")
            return None
        return str(node.value)


def _read_intents(reader: _YamlReader, node: yaml.Node, data: TrainingData) -> None:
    """Read the ``intents:`` list into ``data``."""
    for item in reader.sequence(node, "`intents`"):
        fields = reader.mapping(item, "an intent")
        for key, value in fields.items():
            if key not in _INTENT_KEYS:
                reader.add(value, f"unknown intent key {key!r}; expected name, examples")
        if "name" not in fields:
            if fields:
                reader.add(item, "an intent needs a `name`")
            continue
        name = reader.string(fields["name"], "an intent name")
        if name is None:
            continue
        if name in data.intent_lines:
            first = data.intent_lines[name]
            reader.add(fields["name"], f"intent {name!r} is declared twice (first at line {first})")
            continue
        data.intent_lines[name] = item.start_mark.line + 1
        if "examples" not in fields:
            reader.add(item, f"intent {name!r} has no `examples` list")
            continue
        for ex_node in reader.sequence(fields["examples"], f"the examples of {name!r}"):
            text = reader.string(ex_node, "an example")
            if text is not None:
                line = ex_node.start_mark.line + 1
                example = _example(text, name, line, reader.source, reader.problems)
                if example is not None:
                    data.examples.append(example)


def _read_entities(reader: _YamlReader, node: yaml.Node, data: TrainingData) -> None:
    """Read the ``entities:`` mapping (synonyms, lookups, patterns) into ``data``."""
    for label, spec_node in reader.mapping(node, "`entities`").items():
        spec = EntityDef(label)
        fields = reader.mapping(spec_node, f"entity {label!r}") if not _is_null(spec_node) else {}
        for key, value in fields.items():
            if key not in _ENTITY_KEYS:
                reader.add(
                    value,
                    f"unknown key {key!r} for entity {label!r}; "
                    "expected synonyms, lookup, patterns",
                )
        if "synonyms" in fields:
            _read_synonyms(reader, fields["synonyms"], spec)
        lookup = fields.get("lookup")
        for phrase_node in reader.sequence(lookup, "`lookup`") if lookup is not None else []:
            phrase = reader.string(phrase_node, "a lookup entry")
            if phrase is not None:
                spec.lookup.append(phrase)
        patterns = fields.get("patterns")
        for pat_node in reader.sequence(patterns, "`patterns`") if patterns is not None else []:
            pattern = reader.string(pat_node, "a pattern")
            if pattern is None:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                reader.add(pat_node, f"invalid regular expression {pattern!r}: {exc}")
                continue
            spec.patterns.append(pattern)
        data.entities[label] = spec


def _read_synonyms(reader: _YamlReader, node: yaml.Node, spec: EntityDef) -> None:
    """Read ``canonical: [variants]`` pairs, refusing a variant claimed by two canonicals."""
    for canonical, variants in reader.mapping(node, "`synonyms`").items():
        spec.synonyms.setdefault(canonical.casefold(), canonical)
        for var_node in reader.sequence(variants, f"the synonyms of {canonical!r}"):
            variant = reader.string(var_node, "a synonym")
            if variant is None:
                continue
            owner = spec.synonyms.get(variant.casefold())
            if owner is not None and owner != canonical:
                reader.add(var_node, f"synonym {variant!r} already maps to {owner!r}")
                continue
            spec.synonyms[variant.casefold()] = canonical


def _is_null(node: yaml.Node) -> bool:
    """True for an empty YAML value such as ``label:`` with nothing after it."""
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"
