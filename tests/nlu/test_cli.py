"""The nlu commands, run in process through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from nlu.cli import nlu


def test_validate_ok_and_with_warnings(small_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(nlu, ["validate", "--data", str(small_path)])
    assert result.exit_code == 0, result.output
    assert "32 examples, 4 intents, entity labels: ai_topic; 0 warning(s)" in result.stdout
    noisy = tmp_path / "noisy.csv"
    noisy.write_text("hi,greet\nhi,bye\n")
    result = runner.invoke(nlu, ["validate", "--data", str(noisy), "--strict"])
    assert result.exit_code == 1
    assert f"{noisy}:2: warning: example 'hi' is under both 'greet'" in result.output


def test_validate_reports_errors_with_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("intents:\n  - name: a\n    examples: ['[ml](topic']\n")
    result = CliRunner().invoke(nlu, ["validate", "--data", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: error: malformed entity annotation" in result.output


def test_train_then_predict_json_lines(small_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "model"
    result = runner.invoke(nlu, ["train", "--data", str(small_path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (out / "meta.json").is_file() and (out / "metrics.json").is_file()
    result = runner.invoke(
        nlu, ["predict", "--model", str(out), "--top", "2"], input="hello there\n\nI like ML\n"
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in records] == ["greet", "share_interest"]
    assert len(records[0]["intents"]) == 2
    assert records[1]["entities"][0]["value"] == "machine learning"


def test_train_keeps_literal_brackets_in_rows_with_a_warning(tmp_path: Path) -> None:
    rows = [[f"hello {n}", "greet"] for n in range(6)] + [[f"bye {n}", "bye"] for n in range(5)]
    rows.append(["is there a travel alert for [country]", "bye"])
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(rows), encoding="utf-8")
    out = tmp_path / "model"
    result = CliRunner().invoke(nlu, ["train", "--data", str(data), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"{data}:1: warning: brackets that are no [text](label) annotation" in result.stderr
    assert json.loads((out / "metrics.json").read_text())["examples"] == 12


def test_test_command_writes_report(small_path: Path, model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    args = ["test", "--data", str(small_path), "--model", str(model_dir), "--out", str(out)]
    result = CliRunner().invoke(nlu, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["examples"] == 32 and report["oos_examples"] == 8
    assert report["in_scope_accuracy"] > 0.8
    assert set(report["per_intent"]) >= {"greet", "goodbye", "share_interest", "out_of_scope"}
    # Closed ai_topic: its annotated phrases are rules, so on the training data they all match.
    assert report["entities"]["micro"]["f1"] == 1.0
    assert report["entities"]["by_source"] == {"rule": {"predicted": 8, "correct": 8}}
    assert "entities (strict): precision 1.0, recall 1.0, F1 1.0 over 8 gold spans" in result.output
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "confidence.png").read_bytes()[:4] == b"\x89PNG"
    assert isinstance(json.loads((out / "misclassified.json").read_text()), list)


def test_cross_validation_pools_every_example(small_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "cv"
    args = ["test", "--data", str(small_path), "--cross-validation", "2", "--out", str(out)]
    result = CliRunner().invoke(nlu, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report.json").read_text())["examples"] == 32


def test_bad_input_is_a_one_line_usage_error(small_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(nlu, ["predict", "--model", str(tmp_path / "none")], input="hi\n")
    assert result.exit_code == 2
    assert "no NLU model at" in result.output and "Traceback" not in result.output
    result = runner.invoke(nlu, ["test", "--data", str(small_path)])
    assert result.exit_code == 2 and "give --model DIR" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text('[["hi"]]')
    result = runner.invoke(nlu, ["train", "--data", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and f"{bad}:1: error: expected [text, intent]" in result.output
