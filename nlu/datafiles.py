"""Read training data from any file or folder: threadbot YAML, rows (JSON, JSONL, CSV), and
the public formats (Rasa, SNIPS, HWU64) that ``nlu.formats`` recognises."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from nlu.data import DATA_SUFFIXES, EntityDef, TrainingData, load_intents, load_rows
from nlu.errors import DataError, Problem
from nlu.formats import reader_for


def load_data(path: str | Path) -> TrainingData:
    """Read training data by file type: YAML intents, or [text, intent] JSON, JSONL or CSV."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        message = "unknown file type; use .yml, .json, .jsonl or .csv"
        raise DataError([Problem(str(path), None, message)])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror}"
        raise DataError([Problem(str(path), None, message)]) from exc
    foreign = reader_for(path, text)
    if foreign is not None:
        return foreign(path, text)
    if suffix in {".yml", ".yaml"}:
        return load_intents(path)
    return load_rows(path, text)


def _load_folder(folder: Path) -> TrainingData:
    """Read every data file of a folder (such as HWU64's one CSV per intent) as one data set."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise DataError([Problem(str(folder), None, "no .yml, .json, .jsonl or .csv files")])
    problems: list[Problem] = []
    merged = TrainingData(str(folder), [])
    for file in files:
        try:
            part = load_data(file)
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        # Line numbers point into the part's own file, which the merged source does not name.
        merged.examples.extend(replace(e, line=None) for e in part.examples)
        merged.intent_lines.update(dict.fromkeys(part.intent_lines))
        merged.warnings.extend(part.warnings)
        for label, spec in part.entities.items():
            into = merged.entities.setdefault(label, EntityDef(label))
            into.open |= spec.open
            into.synonyms.update(spec.synonyms)
            into.lookup.extend(p for p in spec.lookup if p not in into.lookup)
            into.patterns.extend(p for p in spec.patterns if p not in into.patterns)
    if problems:
        raise DataError(problems)
    return merged
