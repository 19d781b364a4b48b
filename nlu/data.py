"""Load training data: ``intents.yml`` with inline entity annotations, or [text, intent] lists."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nlu.errors import DataError, Problem
from nlu.rows import as_pair, csv_rows, json_rows, jsonl_rows
from nlu.yamlnodes import YamlReader, compose, is_null

# [text](label): the text may not hold brackets or a newline; labels are identifiers.
ANNOTATION = re.compile(r"\[(?P<text>[^\[\]\n]+)\]\((?P<label>[A-Za-z_][\w-]*)\)")
# Fewer examples than this per intent trains a classifier that guesses; validate warns.
MIN_EXAMPLES = 5
OUT_OF_SCOPE = ("out_of_scope", "oos")
DATA_SUFFIXES = {".yml", ".yaml", ".json", ".jsonl", ".csv"}
_INTENT_KEYS = {"name", "examples"}
_ENTITY_KEYS = {"open", "synonyms", "lookup", "patterns"}


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
    """An entity label's canonical values, lookup phrases and regex patterns.

    ``open`` lets a statistical model learn the label from annotated examples and find values
    no table lists; a closed label is found by the rules alone.
    """

    label: str
    synonyms: dict[str, str] = field(default_factory=dict)  # lowercased variant -> canonical
    lookup: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    open: bool = False

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
    # What loading let through but a person should know (brackets kept as text).
    warnings: list[Problem] = field(default_factory=list)

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
    def open_labels(self) -> set[str]:
        """Open labels that annotated examples teach: what the entity model learns."""
        used = {s.label for e in self.examples for s in e.spans}
        return {label for label in used if label in self.entities and self.entities[label].open}

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
        # Added only when set, so data without open entities keeps the hash its models carry.
        if any(v.open for v in self.entities.values()):
            payload["open"] = sorted(k for k, v in self.entities.items() if v.open)
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
    root = compose(path, problems)
    data = TrainingData(str(path), [])
    if root is None:
        if not problems:
            problems.append(Problem(str(path), 1, "the file is empty; expected `intents:`"))
        raise DataError(problems)
    reader = YamlReader(str(path), problems)
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


def load_rows(path: Path, text: str) -> TrainingData:
    """Read [text, intent] rows from the JSON, JSONL or CSV ``text`` of ``path``."""
    problems: list[Problem] = []
    rows = {".json": json_rows, ".jsonl": jsonl_rows, ".csv": csv_rows}[path.suffix.lower()]
    data = TrainingData(str(path), [])
    for line, value in rows(text, str(path), problems):
        pair = as_pair(value)
        if pair is None:
            problems.append(Problem(str(path), line, "expected [text, intent] or {text, intent}"))
            continue
        # Public data sets hold literal brackets ("a travel alert for [country]"): a row's
        # text is plain text unless it holds a well-formed annotation.
        example = _example(pair[0], pair[1], line, str(path), problems, data.warnings)
        if example is not None:
            data.examples.append(example)
    if not data.examples and not problems:
        problems.append(Problem(str(path), None, "no examples found"))
    if problems:
        raise DataError(problems)
    # Rows have no entity tables: their annotations are examples to learn from, so open.
    data.entities = open_entities(data.examples)
    return data


def open_entities(examples: Iterable[Example]) -> dict[str, EntityDef]:
    """An open, table-less entity definition for each label the examples annotate."""
    labels = sorted({s.label for e in examples for s in e.spans})
    return {label: EntityDef(label, open=True) for label in labels}


def from_pairs(pairs: Iterable[tuple[str, str]], source: str = "<memory>") -> TrainingData:
    """Build training data from (text, intent) pairs already in memory, such as a benchmark."""
    return TrainingData(source, [Example(t, i) for t, i in pairs])


def check(data: TrainingData) -> list[Problem]:
    """Find what loads but hurts training: duplicates, clashes between intents, tiny intents."""
    found: list[Problem] = list(data.warnings)
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
    text: object,
    intent: object,
    line: int | None,
    source: str,
    problems: list[Problem],
    stray_brackets: list[Problem] | None = None,
) -> Example | None:
    """Validate one raw (text, intent) pair and turn it into an ``Example``.

    A bracket outside any ``[text](label)`` annotation is an error, unless ``stray_brackets``
    is given: then it stays in the text and a warning goes there.
    """
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(source, line, "an example must be a non-empty string"))
        return None
    if not isinstance(intent, str) or not intent.strip():
        problems.append(Problem(source, line, "the intent must be a non-empty string"))
        return None
    plain, spans, error = parse_annotated(text)
    if error:
        if stray_brackets is None:
            problems.append(Problem(source, line, f"{error}: {text!r}"))
            return None
        message = f"brackets that are no [text](label) annotation are kept as text: {text!r}"
        stray_brackets.append(Problem(source, line, message, "warning"))
    return Example(plain.strip() if not spans else plain, intent.strip(), spans, line)


def _read_intents(reader: YamlReader, node: yaml.Node, data: TrainingData) -> None:
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


def _read_entities(reader: YamlReader, node: yaml.Node, data: TrainingData) -> None:
    """Read the ``entities:`` mapping (open, synonyms, lookups, patterns) into ``data``."""
    for label, spec_node in reader.mapping(node, "`entities`").items():
        spec = EntityDef(label)
        fields = reader.mapping(spec_node, f"entity {label!r}") if not is_null(spec_node) else {}
        for key, value in fields.items():
            if key not in _ENTITY_KEYS:
                reader.add(
                    value,
                    f"unknown key {key!r} for entity {label!r}; "
                    "expected open, synonyms, lookup, patterns",
                )
        if "open" in fields:
            spec.open = bool(reader.boolean(fields["open"], f"`open` of entity {label!r}"))
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


def _read_synonyms(reader: YamlReader, node: yaml.Node, spec: EntityDef) -> None:
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
