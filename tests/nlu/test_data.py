"""Loading and validating training data: YAML intents, annotations, JSON/JSONL/CSV rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.data import Span, check, load_intents, parse_annotated
from nlu.datafiles import load_data
from nlu.errors import DataError, NLUError
from tests.conftest import ROOT


def test_bot_intents_load_with_names_and_labels() -> None:
    data = load_intents(ROOT / "data" / "bot" / "intents.yml")
    assert {"greet", "share_interest", "out_of_scope", "stop"} <= data.intent_names
    assert data.entity_labels == {"ai_topic"}
    assert data.out_of_scope == "out_of_scope"
    assert data.entities["ai_topic"].canonical("ML") == "machine learning"
    assert check(data) == []


def test_annotation_becomes_plain_text_and_span() -> None:
    text, spans, error = parse_annotated("I love [computer vision](ai_topic) and [ml](ai_topic)!")
    assert error is None
    assert text == "I love computer vision and ml!"
    assert spans == (Span(7, 22, "ai_topic"), Span(27, 29, "ai_topic"))
    assert [text[s.start : s.end] for s in spans] == ["computer vision", "ml"]


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("intents:\n  - name: a\n    examples: [hi, '[ml](topic']\n", 3, "malformed entity"),
        ("intents:\n  - name: a\n    examples:\n      - yes\n", 4, "quote it"),
        (
            "intents:\n  - name: a\n    examples: [x]\n  - name: a\n    examples: [y]\n",
            4,
            "declared twice",
        ),
        ("intents:\n  - examples: [x]\n", 2, "needs a `name`"),
        ("intents:\n  - name: a\n    exmples: [x]\n", 3, "unknown intent key 'exmples'"),
        ("intents:\n  - name: a\n", 2, "no `examples` list"),
        ("intents: []\nentities:\n  t:\n    patterns: ['(open']\n", 4, "invalid regular"),
        (
            "intents: []\nentities:\n  t:\n    synonyms:\n      a: [b]\n      c: [b]\n",
            6,
            "already maps to 'a'",
        ),
        ("intents: [\n", 2, "invalid YAML"),
        ("entities: {}\n", 1, "missing `intents:`"),
        ("intents: []\nextra: 1\n", 2, "unknown top-level key"),
    ],
)
def test_malformed_yaml_reports_line_and_message(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "intents.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_intents(path)
    assert isinstance(caught.value, NLUError)
    problems = [p for p in caught.value.problems if message in p.message]
    assert problems, caught.value.problems
    assert problems[0].line == line
    assert problems[0].file == str(path)
    assert str(problems[0]).startswith(f"{path}:{line}: error:")


def test_check_warns_about_duplicates_clashes_and_small_intents(tmp_path: Path) -> None:
    path = tmp_path / "intents.yml"
    path.write_text(
        "intents:\n"
        "  - name: a\n    examples: [one, two, One, three, four, five]\n"
        "  - name: b\n    examples: [two, six]\n",
        encoding="utf-8",
    )
    found = check(load_intents(path))
    messages = [(p.line, p.severity, p.message) for p in found]
    assert any(line == 3 and "duplicate example 'One'" in m for line, _, m in messages)
    assert any(line == 5 and "under both 'a'" in m for line, _, m in messages)
    assert any(line == 4 and "'b' has 2 example(s)" in m for line, _, m in messages)
    assert {p.severity for p in found} == {"warning"}


def test_json_jsonl_and_csv_rows_load_with_lines(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[\n  ["hi", "greet"],\n  {"text": "bye", "intent": "bye"}\n]')
    (tmp_path / "a.jsonl").write_text('["hi", "greet"]\n\n{"text": "bye", "intent": "bye"}\n')
    (tmp_path / "a.csv").write_text('text,intent\nhi,greet\n"bye, then",bye\n')
    for name, lines in [("a.json", [2, 3]), ("a.jsonl", [1, 3]), ("a.csv", [2, 3])]:
        data = load_data(tmp_path / name)
        assert [(e.intent, e.line) for e in data.examples] == list(
            zip(["greet", "bye"], lines, strict=True)
        )
    assert load_data(tmp_path / "a.csv").examples[1].text == "bye, then"


# CLINC150's training split holds "is there a travel alert for [country]": brackets, no label.
CLINC_LIKE = "is there a travel alert for [country]"


@pytest.mark.parametrize(
    ("name", "body", "line"),
    [
        ("c.json", f'[\n  ["hi", "greet"],\n  ["{CLINC_LIKE}", "travel_alert"]\n]', 3),
        ("c.jsonl", f'["hi", "greet"]\n{{"text": "{CLINC_LIKE}", "intent": "travel_alert"}}\n', 2),
        ("c.csv", f"text,intent\nhi,greet\n{CLINC_LIKE},travel_alert\n", 3),
    ],
)
def test_rows_keep_brackets_that_are_not_annotations(
    tmp_path: Path, name: str, body: str, line: int
) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    data = load_data(path)
    alert = data.examples[1]
    assert (alert.text, alert.intent, alert.spans, alert.line) == (
        CLINC_LIKE,
        "travel_alert",
        (),
        line,
    )
    (warning,) = data.warnings
    assert (warning.severity, warning.line) == ("warning", line)
    assert "kept as text" in warning.message and warning in check(data)


def test_rows_still_read_well_formed_annotations_beside_stray_brackets(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('["[x] marks it: I like [ml](ai_topic)", "share"]\n', encoding="utf-8")
    (example,) = load_data(path).examples
    assert example.text == "[x] marks it: I like ml"
    assert example.spans == (Span(21, 23, "ai_topic"),)


@pytest.mark.parametrize(
    ("name", "body", "line", "message"),
    [
        ("b.json", '[\n  ["hi", "greet"],\n  ["only one"]\n]', 3, "expected [text, intent]"),
        ("b.json", '[\n  ["hi", "greet"]\n  ["x", "y"]\n]', 3, "expected ',' or ']'"),
        ("b.json", '{"train": []}', 1, "expected a JSON array"),
        ("b.jsonl", '["hi", "greet"]\n["hi", \n', 2, "invalid JSON"),
        ("b.csv", "hi,greet\n,greet\n", 2, "non-empty string"),
    ],
)
def test_malformed_rows_report_line(
    tmp_path: Path, name: str, body: str, line: int, message: str
) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_data(path)
    first = caught.value.problems[0]
    assert (first.line, message in first.message) == (line, True)


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown file type"):
        load_data(tmp_path / "data.txt")


def test_digest_changes_with_the_data(small_data) -> None:
    fewer = small_data.subset(small_data.examples[1:])
    assert small_data.digest() != fewer.digest()
    assert len(small_data.digest()) == 12
