"""Stance toward the bot's topic: the data files, the classifier, its report and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlu.cli import nlu as nlu_cli
from nlu.data import TrainingData
from nlu.errors import DataError
from nlu.model import NLUModel, load
from nlu.stance import stance_scores
from nlu.stance_data import beside, load_stance, with_off_topic
from nlu.train import TrainOptions, save, train

# Three examples a side: the least a training file may hold, and what the tiny model learns.
TINY = """\
version: 1
topic: artificial intelligence
stances:
  - name: favor
    examples:
      - "ai is wonderful and helps me every day"
      - "i love what ai does for doctors"
      - "ai tools are brilliant, best invention ever"
  - name: against
    examples:
      - "ai is terrible and ruins everything"
      - "i hate how ai steals from artists"
      - "ai is a dangerous scam, ban it"
  - name: none
    examples:
      - "what does ai stand for"
      - "the meeting about ai is at noon"
      - "how many parameters does the model have"
"""


# The small intents file's out-of-scope examples, which training adds as ``none``.
OFF_TOPIC = 8
TINY_NONE = "what does ai stand for"


@pytest.fixture(scope="module")
def stance_model(
    small_data: TrainingData, tmp_path_factory: pytest.TempPathFactory
) -> tuple[NLUModel, Path]:
    folder = tmp_path_factory.mktemp("stance")
    (folder / "stance.yml").write_text(TINY, encoding="utf-8")
    stance = load_stance(folder / "stance.yml")
    nlp = train(small_data, options=TrainOptions(seed=0, progress=False), stance=stance)
    out = save(nlp, folder / "model")
    return load(out), folder / "stance.yml"


def test_a_tiny_stance_model_learns_three_examples_a_side(
    stance_model: tuple[NLUModel, Path],
) -> None:
    model, path = stance_model
    for example in load_stance(path).examples:
        parse = model.parse(example.text)
        assert parse.stance is not None and parse.stance.label == example.stance, example.text
        assert 0.0 < parse.stance.confidence <= 1.0
    # Intents are untouched by the stance data, and the meta records the stance figures.
    assert model.parse("hello bot").intent == "greet"
    learned = model.meta["stance"]
    assert learned["examples"] == {"favor": 3, "against": 3, "none": 3 + OFF_TOPIC}
    assert set(learned["cross_validation"]) >= {"macro_f1", "f_avg", "confusion"}


def test_out_of_scope_examples_teach_that_off_topic_messages_take_no_side(
    small_data: TrainingData, stance_model: tuple[NLUModel, Path]
) -> None:
    model, path = stance_model
    off_topic = [e.text for e in small_data.examples if e.intent == small_data.out_of_scope]
    assert len(off_topic) == OFF_TOPIC
    for text in off_topic:
        assert model.parse(text).stance.label == "none", text
    stance = load_stance(path)
    grown = with_off_topic(stance, [off_topic[0], off_topic[0].upper(), TINY_NONE])
    assert [e.text for e in grown.examples[len(stance.examples) :]] == [off_topic[0]]
    assert grown.examples[-1].stance == "none" and grown.digest() != stance.digest()


def test_unsure_stances_are_read_as_no_side(stance_model: tuple[NLUModel, Path]) -> None:
    model, _ = stance_model
    assert model.reads_stance
    for text in ("ai is wonderful and helps me every day", "zzz qqq", "\u202e\u200b", "🤖" * 300):
        stance = model.parse(text).stance
        assert stance is not None
        assert stance.side == (stance.label if stance.sure else "none")
        assert model.side_of(text) == stance.side
        assert json.dumps(stance.as_json())  # what the turn and the API store
    # A candidate reply may carry half a surrogate pair: read without it, never a crash.
    assert model.side_of("ai is wonderful\ud800") == model.side_of("ai is wonderful")


def test_a_model_without_stance_data_reads_none(model: NLUModel) -> None:
    assert model.parse("ai is wonderful").stance is None
    assert not model.reads_stance and model.side_of("ai is terrible") == "none"


def test_stance_files_in_every_layout(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        '{"text": "great stuff", "stance": "favor"}\n["awful stuff", "against"]\n'
        '{"text": "bidi \\u202e and zero-width \\u200b", "stance": "none"}\n',
        encoding="utf-8",
    )
    data = load_stance(rows, training=False)
    assert [e.stance for e in data.examples] == ["favor", "against", "none"]
    rows.write_text('["fine", "favor"]\n["lone \\ud800 surrogate", "none"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=":2: error: the text holds half of a UTF-16"):
        load_stance(rows, training=False)
    messages = tmp_path / "test.yml"
    messages.write_text('messages:\n  - {text: "so good", stance: favor}\n', encoding="utf-8")
    assert load_stance(messages, training=False).counts() == {"favor": 1, "against": 0, "none": 0}
    (tmp_path / "intents.yml").write_text("intents: []\n", encoding="utf-8")
    assert beside(tmp_path / "intents.yml") is None
    (tmp_path / "stance.yml").write_text(TINY, encoding="utf-8")
    assert beside(tmp_path / "intents.yml") == tmp_path / "stance.yml"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('stances:\n  - name: maybe\n    examples: ["hm"]\n', 3, "unknown stance 'maybe'"),
        ("stances:\n  - examples: [a]\n", 2, "a stance needs a `name`"),
        ("colour: blue\nstances: []\n", 1, "unknown top-level key 'colour'"),
        ("messages:\n  - {text: hi}\n", 2, "exactly `text` and `stance`"),
        ("stances: [\n", None, "invalid YAML"),
        ("", 1, "the file is empty"),
    ],
)
def test_bad_stance_files_say_where(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "stance.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_stance(path, training=False)
    found = [p for p in error.value.problems if message in p.message]
    assert found, str(error.value)
    assert line is None or found[0].line == line


def test_training_needs_every_side(tmp_path: Path) -> None:
    path = tmp_path / "stance.yml"
    path.write_text(TINY.replace('      - "ai is a dangerous scam, ban it"\n', ""), "utf-8")
    with pytest.raises(DataError, match="2 example\\(s\\) of 'against': need at least 3"):
        load_stance(path)
    assert load_stance(path, training=False).counts()["against"] == 2


def test_scores_follow_semeval() -> None:
    gold = ["favor", "favor", "against", "against", "none", "none"]
    said = ["favor", "against", "against", "against", "none", "favor"]
    scores = stance_scores(gold, said, [True, True, True, False, False, True])
    assert scores["per_stance"]["favor"]["f1"] == pytest.approx(0.5)
    assert scores["per_stance"]["against"]["f1"] == pytest.approx(0.8)
    assert scores["f_avg"] == pytest.approx(0.65)
    assert scores["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3, abs=1e-4)
    assert scores["confusion"]["none"]["favor"] == 1
    assert scores["sure_share"] == pytest.approx(4 / 6, abs=1e-4)
    assert scores["sure_precision"] == pytest.approx(0.5)


def test_train_and_test_commands(small_path: Path, model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "stance.yml").write_text(TINY, encoding="utf-8")
    data = tmp_path / "intents.yml"
    data.write_text(small_path.read_text(encoding="utf-8"), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(
        nlu_cli, ["train", "--data", str(data), "--out", str(tmp_path / "m"), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "stance (" in res.output and "macro-F1" in res.output  # found beside --data
    res = runner.invoke(
        nlu_cli,
        ["test", "--model", str(tmp_path / "m"), "--stance", str(tmp_path / "stance.yml"),
         "--out", str(tmp_path / "report")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and "F_avg" in res.output and "gold \\ predicted" in res.output
    report = json.loads((tmp_path / "report" / "stance.json").read_text(encoding="utf-8"))
    assert report["messages"] == 9
    assert (tmp_path / "report" / "stance_confusion.png").stat().st_size > 1000
    # A model trained without stance data: a clear message, not a traceback.
    res = runner.invoke(
        nlu_cli, ["test", "--model", str(model_dir), "--stance", str(tmp_path / "stance.yml")]
    )
    assert res.exit_code == 2 and "no stance classifier" in res.output
    res = runner.invoke(nlu_cli, ["test", "--model", str(model_dir)])
    assert res.exit_code == 2 and "give --data (intents) or --stance" in res.output
    res = runner.invoke(
        nlu_cli,
        ["train", "--data", str(data), "--out", str(tmp_path / "n"), "--quiet", "--no-stance"],
    )
    assert res.exit_code == 0 and "stance (" not in res.output
