from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from agent.cli import cli
from agent.settings import get_settings
from tests.conftest import ROOT
from tests.conftest import run_cli as run


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> Iterator[Path]:
    """Point every setting at a temporary database and a copy of the shipped bot."""
    data = tmp_path / "bot"
    shutil.copytree(ROOT / "data" / "bot", data)
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("THREADBOT_DATA_DIR", str(data))
    monkeypatch.setenv("THREADBOT_NLU_MODEL", str(ROOT / "models" / "nlu"))
    monkeypatch.setenv("THREADBOT_GENERATOR_MODEL", str(tmp_path / "no-generator"))
    yield data


def test_every_command_has_help() -> None:
    def walk(group: click.Group, path: list[str]) -> Iterator[list[str]]:
        for name, command in group.commands.items():
            yield [*path, name]
            if isinstance(command, click.Group):
                yield from walk(command, [*path, name])

    for path in walk(cli, []):
        code, output = run(*path, "--help")
        assert code == 0, path
        assert "Usage:" in output


def test_validate_reports_ok_and_located_problems(env: Path) -> None:
    code, output = run("validate")
    assert code == 0
    assert "ok (4 states" in output
    dialogue = env / "dialogue.yml"
    dialogue.write_text(dialogue.read_text().replace("dest: asked_opinion", "dest: limbo", 1))
    code, output = run("validate")
    assert code == 1
    assert f"{dialogue}:" in output
    assert "unknown destination state 'limbo'" in output


def test_validate_checks_persona_and_acknowledgements(env: Path) -> None:
    dialogue = env / "dialogue.yml"
    text = dialogue.read_text().replace("  kind: bot\n", "  kind: cyborg\n", 1)
    dialogue.write_text(text.replace("  plan:\n", "  plans:\n", 1))
    code, output = run("validate")
    assert code == 1
    assert "persona kind must be one of bot, human, not 'cyborg'" in output
    assert "unknown dialogue act or side 'plans'" in output
    assert all(f"{dialogue}:" in line for line in output.splitlines()[:2])


def test_validate_lists_the_topics_missing_follow_ups(env: Path) -> None:
    code, output = run("validate")
    assert code == 0 and "follow-ups for 18 subjects and 5 intents" in output
    dialogue = env / "dialogue.yml"
    text = dialogue.read_text()
    start = text.index("    robotics:\n      more:")
    end = text.index("    self-driving cars:\n      more:")
    without_robotics = text[:start] + text[end:]
    dialogue.write_text(without_robotics.replace('      why: "Supervised', '      whyy: "S', 1))
    code, output = run("validate")
    assert code == 1
    assert "'robotics' has a 'topic_answer' but no follow-up answers" in output
    assert "unknown key 'whyy' in follow-up answers for 'supervised learning'" in output
    assert "follow-up answers for 'supervised learning' are missing: why" in output


def test_validate_warns_about_busy_transitions_with_few_variants(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADBOT_MIN_REPLY_VARIANTS", "50")
    code, output = run("validate")
    assert code == 0, output  # a warning, not an error
    warnings = [line for line in output.splitlines() if ": warning: " in line]
    assert warnings and all("reply variant(s)" in w for w in warnings)
    assert f"{env / 'dialogue.yml'}:" in warnings[0]
    assert f"{len(warnings)} warning(s))" in output
    monkeypatch.setenv("THREADBOT_MIN_REPLY_VARIANTS", "1")
    get_settings.cache_clear()
    code, output = run("validate")
    assert code == 0 and "warning" not in output


def test_graph_writes_mermaid(env: Path, tmp_path: Path) -> None:
    out = tmp_path / "ada.mmd"
    code, output = run("graph", "--out", str(out))
    assert code == 0, output
    assert "stateDiagram-v2" in out.read_text()


def test_say_needs_a_migrated_database(env: Path) -> None:
    code, output = run("say", "--user", "alice", "hello")
    assert code == 1
    assert "run `threadbot db upgrade`" in output


def test_db_upgrade_then_say_and_chat(env: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    assert "up to date" in run("db", "current")[1]
    code, output = run("say", "--user", "alice", "--debug", "hello")
    assert code == 0, output
    assert "Ada" in output
    assert "intent=greet" in output
    assert "state=asked_topic" in output
    code, output = run("say", "--user", "alice", "--json", "I'm interested in robotics")
    reply = json.loads(output)
    assert (reply["intent"], reply["state"]) == ("share_interest", "asked_opinion")
    assert reply["source"] is None  # a scripted reply has no generator provenance
    code, output = run("chat", "--user", "alice", input="yes\n/debug\nthanks\n/quit\n")
    assert code == 0, output
    assert "state=chatting" in output
    assert output.count("ada> ") == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "message is empty"), ("\u200b", "message is empty"), ("x" * 10_001, "the limit is")],
)
def test_say_refuses_bad_text_with_a_usage_error(env: Path, text: str, message: str) -> None:
    run("db", "upgrade")
    code, output = run("say", "--user", "alice", text)
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_bad_settings_are_one_clear_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_NLU_THRESHOLD", "high")
    get_settings.cache_clear()
    code, output = run("validate")
    assert code == 1
    assert "THREADBOT_NLU_THRESHOLD" in output
