"""Annotated data in other tools' formats: Rasa NLU YAML, SNIPS JSON, HWU64 CSV, and convert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlu.data import Span
from nlu.datafiles import load_data
from nlu.errors import DataError
from nlu.writer import write_intents
from tests.conftest import run_cli

RASA = """\
version: "3.1"
nlu:
- intent: book_flight
  examples: |
    - fly me to [Berlin](city)
    - I need a flight to [NYC](city:New York) tomorrow
    - book a seat to [Paris]{"entity": "city", "role": "destination"}
- intent: greet
  examples: |
    - hi
    - "hello [there]"
- synonym: New York
  examples: |
    - the big apple
- lookup: city
  examples: |
    - Lisbon
- regex: zipcode
  examples: |
    - \\d{5}
"""

SNIPS_DATASET = {
    "language": "en",
    "intents": {
        "PlayMusic": {
            "utterances": [
                {
                    "data": [
                        {"text": "play "},
                        {"text": "queen", "entity": "snips/musicArtist", "slot_name": "artist"},
                        {"text": " on my speaker"},
                    ]
                },
                {"data": [{"text": "put some "}, {"text": "jazz", "entity": "genre"}]},
            ]
        }
    },
    "entities": {
        "genre": {
            "data": [{"value": "jazz", "synonyms": ["smooth jazz"]}],
            "automatically_extensible": False,
        }
    },
}

SNIPS_BENCHMARK = {
    "AddToPlaylist": [
        {"data": [{"text": "add "}, {"text": "this song", "entity": "music_item"}]},
        {"data": [{"text": "add it to "}, {"text": "chill", "entity": "playlist"}]},
    ]
}

HWU64 = (
    "answerid;scenario;intent;answer_annotation;answer_from_anno;answer_from_user\n"
    '1;alarm;set;"wake me up at [time : five am] [date : this week]";"wake me";"x"\n'
    '2;alarm;set;"set an alarm";"set an alarm";"set an alarm"\n'
    '3;weather;query;"is it cold in [place_name : new york]";"is it cold";"x"\n'
)


def spans_text(example) -> list[tuple[str, str]]:
    return [(example.text[s.start : s.end], s.label) for s in example.spans]


def test_rasa_yaml_loads_examples_entities_synonyms_lookups_and_regexes(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(RASA.replace('"hello [there]"', "hello there"), encoding="utf-8")
    data = load_data(path)
    assert [e.intent for e in data.examples] == ["book_flight"] * 3 + ["greet"] * 2
    first, second, third = data.examples[:3]
    assert spans_text(first) == [("Berlin", "city")]
    assert second.text == "I need a flight to NYC tomorrow"
    assert spans_text(third) == [("Paris", "city")]
    city = data.entities["city"]
    assert city.open and data.open_labels == {"city"}
    assert city.canonical("nyc") == "New York" and city.canonical("The Big Apple") == "New York"
    assert city.lookup == ["Lisbon"]
    assert data.entities["zipcode"].patterns == [r"\d{5}"]
    assert first.line == 5


def test_rasa_malformed_annotation_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(RASA, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_data(path)
    (problem,) = caught.value.problems
    assert problem.line == 11 and "malformed entity annotation" in problem.message


def test_snips_dataset_and_benchmark_files_load(tmp_path: Path) -> None:
    path = tmp_path / "snips.json"
    path.write_text(json.dumps(SNIPS_DATASET), encoding="utf-8")
    data = load_data(path)
    assert [e.text for e in data.examples] == ["play queen on my speaker", "put some jazz"]
    assert spans_text(data.examples[0]) == [("queen", "artist")]
    assert data.entities["artist"].open  # a builtin: learned from the examples
    assert not data.entities["genre"].open  # automatically_extensible: false
    assert data.entities["genre"].canonical("Smooth Jazz") == "jazz"
    path.write_text(json.dumps(SNIPS_BENCHMARK), encoding="utf-8")
    data = load_data(path)
    assert {e.intent for e in data.examples} == {"AddToPlaylist"}
    assert data.open_labels == {"music_item", "playlist"}


def test_hwu64_csv_and_a_folder_of_them_load(tmp_path: Path) -> None:
    (tmp_path / "trainset_alarm_set.csv").write_text(HWU64, encoding="utf-8")
    (tmp_path / "README.md").write_text("not data", encoding="utf-8")
    data = load_data(tmp_path / "trainset_alarm_set.csv")
    assert [e.intent for e in data.examples] == ["alarm_set", "alarm_set", "weather_query"]
    assert data.examples[0].text == "wake me up at five am this week"
    assert spans_text(data.examples[0]) == [("five am", "time"), ("this week", "date")]
    assert [e.line for e in data.examples] == [2, 3, 4]
    folder = load_data(tmp_path)  # the README is skipped
    assert [e.text for e in folder.examples] == [e.text for e in data.examples]
    assert folder.open_labels == {"time", "date", "place_name"}


def test_hwu64_bad_annotation_and_missing_columns_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(HWU64.replace("[date : this week]", "[date this week]"), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_data(path)
    assert [p.line for p in caught.value.problems] == [2]
    path.write_text("answerid;answer_annotation\n1;hi\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        load_data(path)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("r.yml", RASA.replace('"hello [there]"', "hello there")),
        ("s.json", json.dumps(SNIPS_DATASET)),
        ("h.csv", HWU64),
    ],
)
def test_convert_writes_intents_yml_that_loads_back_the_same(
    tmp_path: Path, name: str, body: str
) -> None:
    source = tmp_path / name
    source.write_text(body, encoding="utf-8")
    out = tmp_path / "out" / "intents.yml"
    code, output = run_cli("nlu", "convert", "--data", str(source), "--out", str(out))
    assert code == 0, output
    assert f"wrote {out}" in output
    original, again = load_data(source), load_data(out)
    assert [(e.text, e.intent, e.spans) for e in again.examples] == [
        (e.text, e.intent, e.spans) for e in original.examples
    ]
    assert again.open_labels == original.open_labels
    for label, spec in original.entities.items():
        assert again.entities[label].synonyms == spec.synonyms
        assert again.entities[label].patterns == spec.patterns


def test_writer_keeps_hostile_text_loadable(tmp_path: Path) -> None:
    from nlu.data import Example, TrainingData, open_entities

    text = "yes \u202e[x] \u200b\ud800 ok"
    examples = [Example(text, "no", (Span(len(text) - 2, len(text), "word"),))]
    data = TrainingData("mem", examples, open_entities(examples))
    again = load_data(write_intents(data, tmp_path / "i.yml"))
    assert again.examples[0].text == text.replace("[", "(").replace("]", ")")
    assert again.examples[0].spans == examples[0].spans


def test_open_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "i.yml"
    path.write_text(
        "intents:\n  - name: a\n    examples: [x]\nentities:\n  t:\n    open: maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as caught:
        load_data(path)
    assert caught.value.problems[0].line == 6
    assert "must be true or false" in caught.value.problems[0].message
