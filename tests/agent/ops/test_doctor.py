"""`threadbot doctor`: every broken setting and dependency named in plain words, no secrets."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import tweepy
from click.testing import CliRunner

from agent.cli import cli
from agent.ops import doctor as doctor_module
from agent.settings import load_settings
from agent.storage import migrate
from agent.storage.db import make_engine
from tests.conftest import ROOT
from tests.conftest import run_cli as run

SECRET = "s3cr3t-value-that-must-never-show"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> Iterator[Path]:
    """A healthy set-up: migrated SQLite, the shipped bot files and NLU model, a secret key."""
    for name in list(os.environ):
        if name.startswith("THREADBOT_") and name != "THREADBOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env from the repository
    db = tmp_path / "bot.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("THREADBOT_DATA_DIR", str(ROOT / "data" / "bot"))
    monkeypatch.setenv("THREADBOT_NLU_MODEL", str(ROOT / "models" / "nlu"))
    monkeypatch.setenv("THREADBOT_GENERATOR_MODEL", str(tmp_path / "no-generator"))
    monkeypatch.setenv("THREADBOT_SECRET_KEY", SECRET)
    yield tmp_path


def test_healthy_setup_passes_and_loads_the_model(env: Path) -> None:
    code, output = run("doctor")
    assert code == 0, output
    assert "ok   nlu model:" in output and "loads" in output
    assert "all checks passed" in output
    assert SECRET not in output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("THREADBOT_DATABASE_URL", "mysql://x@db/bot", "must start with sqlite://"),
        ("THREADBOT_NLU_THRESHOLD", "1.5", "less than or equal to 1"),
        ("THREADBOT_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("THREADBOT_MAX_MESSAGE_CHARS", "0", "greater than 0"),
    ],
)
def test_each_bad_setting_is_named(
    env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    for command in (["doctor"], ["doctor", "--quick"]):
        code, output = run(*command)
        assert code == 1
        assert f"{variable}: " in output and message in output


def test_several_bad_settings_one_line_each(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_NLU_MARGIN", "-1")
    monkeypatch.setenv("THREADBOT_LOG_LEVEL", "LOUD")
    result = CliRunner().invoke(cli, ["doctor"])  # the root leaves bad settings to doctor
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip().startswith("THREADBOT_")]
    assert sorted(line.split(":")[0].strip() for line in lines) == [
        "THREADBOT_LOG_LEVEL",
        "THREADBOT_NLU_MARGIN",
    ]


def test_missing_and_short_secret_key_warn(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADBOT_SECRET_KEY")
    code, output = run("doctor", "--quick")
    assert code == 0
    assert "WARN secret key: THREADBOT_SECRET_KEY is not set" in output
    monkeypatch.setenv("THREADBOT_SECRET_KEY", "Zq9xK")
    code, output = run("doctor", "--quick")
    assert "only 5 characters" in output and "Zq9xK" not in output


def test_missing_sqlite_file_is_not_created(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = env / "nowhere" / "bot.db"
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{missing}")
    code, output = run("doctor", "--quick")
    assert code == 1
    assert f"FAIL database: no SQLite file at {missing}" in output
    assert "threadbot db upgrade" in output
    assert not missing.exists()


def test_schema_behind_and_empty(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = env / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0001")
    engine.dispose()
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{old}")
    code, output = run("doctor", "--quick")
    assert code == 1
    assert "FAIL migrations: the schema is behind: at 0001" in output
    assert "fix: run `threadbot db upgrade`" in output

    empty = env / "empty.db"
    make_engine(f"sqlite:///{empty}").connect().close()
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{empty}")
    code, output = run("doctor", "--quick")
    assert "FAIL migrations: the database is empty" in output


def test_unreachable_postgres_hides_the_password(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 on loopback: nothing listens, so the refusal is immediate and offline.
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"postgresql://bot:{SECRET}@127.0.0.1:9/bot")
    code, output = run("doctor", "--quick")
    assert code == 1
    assert "FAIL database: cannot reach postgresql+psycopg://bot:***@127.0.0.1:9/bot" in output
    assert SECRET not in output


def test_broken_models_and_bot_files(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_NLU_MODEL", str(env / "no-nlu"))
    broken = env / "bot"
    shutil.copytree(ROOT / "data" / "bot", broken)
    dialogue = broken / "dialogue.yml"
    dialogue.write_text(dialogue.read_text().replace("dest: asked_opinion", "dest: limbo", 1))
    monkeypatch.setenv("THREADBOT_DATA_DIR", str(broken))
    junk = env / "junk-generator"
    junk.mkdir()
    (junk / "checkpoint.pt").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("THREADBOT_GENERATOR_MODEL", str(junk))
    code, output = run("doctor")
    assert code == 1
    assert f"FAIL nlu model: no NLU model folder at {env / 'no-nlu'}" in output
    assert "FAIL bot files:" in output and "limbo" in output
    assert f"FAIL generator model: {junk} does not load" in output
    assert "3 problem(s) found" in output


def test_json_output(env: Path) -> None:
    code, output = run("doctor", "--quick", "--json")
    assert code == 0
    findings = json.loads(output)
    assert {f["check"] for f in findings} >= {"database", "migrations", "nlu model"}


def test_model_store_folder_and_bad_url(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_MODEL_STORE", str(env / "store"))
    code, output = run("doctor", "--quick")
    assert "ok   model store:" in output and "0 nlu version(s)" in output
    monkeypatch.setenv("THREADBOT_MODEL_STORE", "ftp://models")
    code, output = run("doctor", "--quick")
    assert code == 1
    assert "FAIL model store: 'ftp://models': a model store is a folder or s3://" in output


class _FakeX(BaseHTTPRequestHandler):
    """Answers GET /2/users/me like X: 200 for the right token, 401 otherwise."""

    def do_GET(self) -> None:
        header = self.headers.get("Authorization", "")
        authorized = header == "Bearer good-token" or (
            header.startswith("OAuth ") and 'oauth_consumer_key="good-key"' in header
        )
        body = (
            {"data": {"id": "1", "name": "Ada", "username": "ada_bot"}}
            if authorized
            else {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "no"}
        )
        payload = json.dumps(body).encode()
        self.send_response(200 if authorized else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def fake_x() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeX)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_x_credentials_real_call_on_loopback(
    env: Path, monkeypatch: pytest.MonkeyPatch, fake_x: str
) -> None:
    monkeypatch.setenv("THREADBOT_TWITTER_API_BASE", fake_x)
    monkeypatch.setenv("THREADBOT_TWITTER_OAUTH2_USER_TOKEN", "good-token")
    code, output = run("doctor", "--quick")
    assert code == 0, output
    assert f"ok   x credentials: accepted by {fake_x}: the bot posts as @ada_bot" in output
    monkeypatch.setenv("THREADBOT_TWITTER_OAUTH2_USER_TOKEN", "stale-token")
    code, output = run("doctor", "--quick")
    assert code == 1
    assert "rejected the credentials (401 Unauthorized)" in output
    assert "stale-token" not in output


def test_x_oauth1_credentials_real_call_on_loopback(
    env: Path, monkeypatch: pytest.MonkeyPatch, fake_x: str
) -> None:
    monkeypatch.setenv("THREADBOT_TWITTER_API_BASE", fake_x)
    for name, value in {
        "CONSUMER_KEY": "good-key",
        "CONSUMER_SECRET": SECRET,
        "ACCESS_TOKEN": "token",
        "ACCESS_TOKEN_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(f"THREADBOT_TWITTER_{name}", value)
    code, output = run("doctor", "--quick")
    assert code == 0, output
    assert "the bot posts as @ada_bot" in output and SECRET not in output
    monkeypatch.setenv("THREADBOT_TWITTER_CONSUMER_KEY", "revoked-key")
    code, output = run("doctor", "--quick")
    assert code == 1 and "401 Unauthorized" in output


def test_x_credentials_oauth1_incomplete_and_rejected(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADBOT_TWITTER_CONSUMER_KEY", SECRET)
    code, output = run("doctor", "--quick")
    assert code == 1
    assert "THREADBOT_TWITTER_ACCESS_TOKEN_SECRET" in output and SECRET not in output
    for name in ("CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"):
        monkeypatch.setenv(f"THREADBOT_TWITTER_{name}", SECRET)

    def refuse(_settings: object) -> str:
        raise ConnectionError("connection refused")

    findings = list(doctor_module.check_x(load_settings(), whoami=refuse))
    assert findings[0].status == "fail"
    assert "could not reach https://api.twitter.com: ConnectionError" in findings[0].message
    assert tweepy.Unauthorized  # the real whoami maps 401 to this; covered on loopback above
