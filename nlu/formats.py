"""Read annotated data as other tools write it: Rasa NLU YAML, SNIPS JSON and HWU64 CSV.

Each reader returns ``TrainingData`` whose annotated labels are open (the tools they come from
learn their entities from the examples), with the tables the format has (Rasa synonyms, lookups
and regexes; SNIPS entity values) as rules. Problems carry file and line where the format has
lines, and every problem of a file is reported at once.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Any

import yaml

from nlu.data import EntityDef, Example, Span, TrainingData
from nlu.errors import DataError, Problem
from nlu.yamlnodes import YamlReader, compose

# Rasa: [text](label), [text](label:value) or [text]{"entity": "label", "value": ...}.
RASA_ANNOTATION = re.compile(
    r"\[(?P<text>[^\[\]\n]+)\](?:\((?P<label>[^()\n]+)\)|(?P<json>\{[^{}\n]*\}))"
)
# HWU64: [type : value], the value may be empty in a few hand-made rows.
HWU_ANNOTATION = re.compile(r"\[\s*(?P<label>[^\[\]:]+?)\s*:\s*(?P<text>[^\[\]]*?)\s*\]")
HWU_COLUMNS = ("scenario", "intent", "answer_annotation")
_RASA_KINDS = ("intent", "synonym", "regex", "lookup")

Reader = Callable[[Path, str], TrainingData]


def reader_for(path: Path, text: str) -> Reader | None:
    """The reader of a foreign format that ``text`` is written in, or None for threadbot's own."""
    suffix = path.suffix.lower()
    if suffix in {".yml", ".yaml"} and re.search(r"^nlu\s*:", text, re.MULTILINE):
        return read_rasa
    if suffix == ".json" and text.lstrip().startswith("{") and _is_snips(text):
        return read_snips
    if suffix == ".csv" and "answer_annotation" in text.partition("\n")[0]:
        return read_hwu64
    return None


def _is_snips(text: str) -> bool:
    """True for SNIPS JSON: ``intents`` with ``utterances``, or intent -> [{"data": ...}]."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    intents = value.get("intents") if isinstance(value.get("intents"), dict) else value
    lists = [_utterances(spec) for spec in intents.values()]
    return (
        bool(lists)
        and all(lists)
        and all(isinstance(u, dict) and "data" in u for u in chain(*lists))
    )


def _utterances(spec: object) -> list[Any]:
    """The utterance list of a SNIPS intent in either layout."""
    found = spec.get("utterances") if isinstance(spec, dict) else spec
    return found if isinstance(found, list) else []


def label_name(raw: str) -> str:
    """Turn a foreign entity name (``snips/datetime``, ``place name``) into an identifier."""
    name = re.sub(r"\W+", "_", raw.strip()).strip("_") or "entity"
    return f"_{name}" if name[0].isdigit() else name


class _Builder:
    """Collects examples and entity tables while a foreign file is read."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.examples: list[Example] = []
        self.entities: dict[str, EntityDef] = {}
        self.intent_lines: dict[str, int | None] = {}

    def entity(self, label: str) -> EntityDef:
        """The definition of ``label``, created open on first use."""
        return self.entities.setdefault(label, EntityDef(label, open=True))

    def add(
        self, intent: str, pieces: list[tuple[str, str | None, str | None]], line: int | None
    ) -> None:
        """Add one example from (text, label or None, canonical value or None) pieces."""
        text, spans = "", []
        for piece, label, value in pieces:
            if label is not None and piece.strip():
                start = len(text) + len(piece) - len(piece.lstrip())
                spans.append(Span(start, len(text) + len(piece.rstrip()), label))
                spec = self.entity(label)
                if value is not None and value.casefold() != piece.strip().casefold():
                    spec.synonyms.setdefault(value.casefold(), value)
                    spec.synonyms[piece.strip().casefold()] = value
            text += piece
        if not text.strip():
            self.problems.append(Problem(self.source, line, "an example must be non-empty text"))
            return
        self.intent_lines.setdefault(intent, line)
        self.examples.append(Example(text, intent, tuple(spans), line))

    def result(self) -> TrainingData:
        """The data read, or ``DataError`` listing every problem."""
        if not self.examples and not self.problems:
            self.problems.append(Problem(self.source, None, "no examples found"))
        if self.problems:
            raise DataError(self.problems)
        return TrainingData(self.source, self.examples, self.entities, self.intent_lines)


def read_rasa(path: Path, text: str) -> TrainingData:
    """Read a Rasa NLU YAML file: ``nlu:`` items of intents, synonyms, regexes and lookups."""
    out = _Builder(str(path))
    root = compose(path, out.problems)
    reader = YamlReader(str(path), out.problems)
    top = reader.mapping(root, "the top level") if root is not None else {}
    items = reader.sequence(top["nlu"], "`nlu`") if "nlu" in top else []
    synonyms: list[tuple[str, list[str]]] = []
    for item in items:
        fields = reader.mapping(item, "an nlu item")
        kind = next((k for k in _RASA_KINDS if k in fields), None)
        if kind is None:
            reader.add(item, f"an nlu item needs one of {', '.join(_RASA_KINDS)}")
            continue
        name = reader.string(fields[kind], f"the {kind} name")
        node = fields.get("examples")
        if name is None or node is None:
            if node is None:
                reader.add(item, f"{kind} {name!r} has no `examples`")
            continue
        for line, entry in _rasa_lines(reader, node):
            if kind == "intent":
                pieces = _rasa_pieces(entry, line, out)
                if pieces is not None:
                    out.add(name, pieces, line)
            elif kind == "lookup":
                out.entity(label_name(name)).lookup.append(entry)
            elif kind == "regex":
                _add_pattern(out, label_name(name), entry, line)
            else:
                synonyms.append((name, [entry]))
    _attach_synonyms(out, synonyms)
    return out.result()


def _rasa_lines(reader: YamlReader, node: yaml.Node) -> list[tuple[int, str]]:
    """The ``- text`` entries of an ``examples: |`` block (or a YAML list), with their lines."""
    if isinstance(node, yaml.SequenceNode):
        entries = [(n.start_mark.line + 1, reader.string(n, "an example")) for n in node.value]
        return [(line, text) for line, text in entries if text is not None]
    block = reader.string(node, "`examples`")
    if block is None:
        return []
    # A literal block's text starts on the line after its `|`.
    first = node.start_mark.line + (2 if getattr(node, "style", None) in {"|", ">"} else 1)
    found = []
    for offset, raw in enumerate(block.splitlines()):
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("- "):
            reader.problems.append(
                Problem(reader.source, first + offset, "each example line must start with '- '")
            )
            continue
        found.append((first + offset, stripped[2:].strip()))
    return found


def _rasa_pieces(
    entry: str, line: int, out: _Builder
) -> list[tuple[str, str | None, str | None]] | None:
    """Split a Rasa example into plain and annotated pieces; None after a problem."""
    pieces: list[tuple[str, str | None, str | None]] = []
    pos = 0
    for m in RASA_ANNOTATION.finditer(entry):
        pieces.append((entry[pos : m.start()], None, None))
        if m["json"]:
            try:
                spec: Any = json.loads(m["json"])
            except json.JSONDecodeError:
                spec = None
            if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
                out.problems.append(Problem(out.source, line, f"bad entity JSON {m['json']!r}"))
                return None
            label, value = spec["entity"], spec.get("value")
        else:
            label, _, value = m["label"].partition(":")
        pieces.append((m["text"], label_name(label), str(value) if value else None))
        pos = m.end()
    rest = entry[pos:]
    if any(c in RASA_ANNOTATION.sub("", entry) for c in "[]"):
        message = f"malformed entity annotation: {entry!r}; write it as [text](entity)"
        out.problems.append(Problem(out.source, line, message))
        return None
    return [*pieces, (rest, None, None)]


def _add_pattern(out: _Builder, label: str, pattern: str, line: int) -> None:
    """Add a regular expression to ``label``, or a problem when it does not compile."""
    try:
        re.compile(pattern)
    except re.error as exc:
        out.problems.append(Problem(out.source, line, f"invalid regular expression: {exc}"))
        return
    out.entity(label).patterns.append(pattern)


def _attach_synonyms(out: _Builder, synonyms: list[tuple[str, list[str]]]) -> None:
    """Give each ``synonym:`` item to the labels that annotate one of its forms.

    Rasa maps synonyms whatever the label; one that no annotation uses goes to every label.
    """
    for canonical, variants in synonyms:
        forms = {canonical.casefold(), *(v.casefold() for v in variants)}
        users = {
            s.label
            for e in out.examples
            for s in e.spans
            if e.text[s.start : s.end].casefold() in forms
        }
        for label in sorted(users or {s.label for e in out.examples for s in e.spans}):
            spec = out.entity(label)
            spec.synonyms.setdefault(canonical.casefold(), canonical)
            for variant in variants:
                spec.synonyms[variant.casefold()] = canonical


def read_snips(path: Path, text: str) -> TrainingData:
    """Read SNIPS JSON: the NLU dataset (``intents``/``entities``) or the benchmark files."""
    out = _Builder(str(path))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError([Problem(str(path), exc.lineno, f"invalid JSON: {exc.msg}")]) from exc
    intents = value.get("intents") if isinstance(value.get("intents"), dict) else value
    slot_entity: dict[str, str] = {}
    for intent, spec in intents.items():
        for number, utterance in enumerate(_utterances(spec), start=1):
            chunks = utterance.get("data") if isinstance(utterance, dict) else None
            where = f"intent {intent!r}, utterance {number}"
            if not isinstance(chunks, list) or not all(
                isinstance(c, dict) and isinstance(c.get("text"), str) for c in chunks
            ):
                out.problems.append(Problem(out.source, None, f"{where}: expected `data` chunks"))
                continue
            pieces = []
            for chunk in chunks:
                raw = chunk.get("slot_name") or chunk.get("entity")
                label = label_name(raw) if isinstance(raw, str) else None
                if label and isinstance(chunk.get("entity"), str):
                    slot_entity[label] = chunk["entity"]
                pieces.append((chunk["text"], label, None))
            out.add(str(intent), pieces, None)
    _snips_tables(out, value.get("entities"), slot_entity)
    return out.result()


def _snips_tables(out: _Builder, entities: object, slot_entity: dict[str, str]) -> None:
    """Copy SNIPS entity values and synonyms to the slots that use each entity."""
    if not isinstance(entities, dict):
        return
    for label, entity in slot_entity.items():
        spec = entities.get(entity)
        if not isinstance(spec, dict):
            continue  # a builtin such as snips/datetime: learned from the examples alone
        target = out.entity(label)
        target.open = bool(spec.get("automatically_extensible", True))
        for item in spec.get("data") or []:
            if isinstance(item, dict) and isinstance(item.get("value"), str):
                canonical = item["value"]
                target.synonyms.setdefault(canonical.casefold(), canonical)
                for variant in item.get("synonyms") or []:
                    if isinstance(variant, str):
                        target.synonyms[variant.casefold()] = canonical


def read_hwu64(path: Path, text: str) -> TrainingData:
    """Read an HWU64 CSV: ``;``-separated, intent ``<scenario>_<intent>``, ``[type : value]``."""
    out = _Builder(str(path))
    rows = csv.DictReader(io.StringIO(text), delimiter=";")
    missing = [c for c in HWU_COLUMNS if c not in (rows.fieldnames or [])]
    if missing:
        raise DataError([Problem(str(path), 1, f"missing column(s) {', '.join(missing)}")])
    for row in rows:
        line = rows.line_num
        annotated = row.get("answer_annotation") or row.get("answer_from_anno") or ""
        pieces: list[tuple[str, str | None, str | None]] = []
        pos = 0
        for m in HWU_ANNOTATION.finditer(annotated):
            pieces.append((annotated[pos : m.start()], None, None))
            pieces.append((m["text"], label_name(m["label"]), None))
            pos = m.end()
        if any(c in HWU_ANNOTATION.sub("", annotated) for c in "[]"):
            message = f"malformed annotation {annotated!r}; write it as [type : value]"
            out.problems.append(Problem(out.source, line, message))
            continue
        intent = f"{(row['scenario'] or '').strip()}_{(row['intent'] or '').strip()}"
        out.add(intent, [*pieces, (annotated[pos:], None, None)], line)
    return out.result()
