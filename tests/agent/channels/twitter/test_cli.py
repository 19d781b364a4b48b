"""`threadbot twitter run` and `threadbot sandbox` wiring, errors and secrecy."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.channels.twitter.cli import stop_on_signals
from agent.cli import cli
from tests.agent.channels.twitter.helpers import replies_by_mention
from tests.conftest import ROOT
from xsandbox import SandboxServer

SECRET = "s3cret-value-never-shown"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings for a temporary database and the shipped bot."""
    monkeypatch.setenv("THREADBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("THREADBOT_DATA_DIR", str(ROOT / "data" / "bot"))
    monkeypatch.setenv("THREADBOT_NLU_MODEL", str(ROOT / "models" / "nlu"))
    monkeypatch.setenv("THREADBOT_GENERATOR_MODEL", str(tmp_path / "no-generator"))
    monkeypatch.setenv("THREADBOT_TWITTER_RECONCILE_GRACE_SECONDS", "0")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
    return monkeypatch


def run(*args: str) -> tuple[int, str]:
    """Invoke the CLI; each call builds its own context (settings, agent) as a process would."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_talking_to_x_without_credentials_is_one_clear_line(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREADBOT_TWITTER_CONSUMER_KEY", SECRET)
    code, output = run("twitter", "run", "--once")
    assert code == 78  # EX_CONFIG: systemd does not restart it
    assert "no complete X credentials" in output and "THREADBOT_TWITTER_ACCESS_TOKEN" in output
    assert SECRET not in output


def test_rejected_credentials_stop_with_a_message_and_no_secret(
    env: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    env.setenv("THREADBOT_TWITTER_API_BASE", sandbox.url)
    for name in ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"):
        env.setenv(f"THREADBOT_TWITTER_{name}", f"{SECRET}-{name}")
    code, output = run("twitter", "run", "--once")
    assert code == 78
    assert "X rejected the credentials (401)" in output
    assert SECRET not in output


def test_once_against_the_sandbox_answers_and_dry_run_does_not_post(
    env: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    env.setenv("THREADBOT_TWITTER_API_BASE", sandbox.url)
    mention = sandbox.state.tweet("lena", "@ada hello")
    code, output = run("twitter", "run", "--once", "--dry-run", "--backfill")
    assert code == 0, output
    assert sandbox.state.bot_replies() == []
    second = sandbox.state.tweet("lena", "@ada I love robots")
    code, output = run("twitter", "run", "--once")
    assert code == 0, output
    assert set(replies_by_mention(sandbox.state)) == {second["id"]}
    assert mention["id"] not in replies_by_mention(sandbox.state)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "server_error"], "use NAME=VALUE"),
        (["--fault", "meteor=1"], "unknown fault 'meteor'"),
        (["--port", "70000"], "70000 is not in the range"),
        (["--duplicate-rule", "sometimes"], "'sometimes' is not one of 'account', 'thread'"),
        (["--duplicate-window-hours", "0"], "0.0 is not in the range x>0"),
        (["--limit", "meteor=1"], "ENDPOINT one of mentions, post, search"),
        (["--limit", "mentions"], "use ENDPOINT=REQUESTS"),
        (["--daily-post-cap", "-1"], "-1 is not in the range x>=0"),
        (["--mention-timeline-cap", "0"], "0 is not in the range x>=1"),
        (["--window-minutes", "0"], "0.0 is not in the range x>0"),
    ],
)
def test_sandbox_refuses_bad_options(
    env: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    code, output = run("sandbox", *args)
    assert code == 2
    assert message in output


def test_bad_api_base_is_refused_at_start(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREADBOT_TWITTER_API_BASE", "api.twitter.com")
    code, output = run("twitter", "run", "--once")
    assert code == 1
    assert "THREADBOT_TWITTER_API_BASE: Value error, must be an http:// or https:// URL" in output


def test_sigterm_and_sigint_set_the_stop_event_and_handlers_come_back() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) is before
