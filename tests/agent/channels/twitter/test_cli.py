"""`threadbot twitter run` wiring, errors and secrecy."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from agent.channels.twitter.cli import stop_on_signals
from tests.agent.channels.twitter.helpers import replies_by_mention
from tests.conftest import run_cli as run
from xsandbox import SandboxServer

SECRET = "s3cret-value-never-shown"


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
