from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agent.ops.supervisor import plan
from agent.settings import load_settings
from tests.conftest import ROOT


def test_plan_uses_the_sandbox_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADBOT_TWITTER_POLL_INTERVAL_SECONDS", raising=False)
    children = plan(load_settings(), "127.0.0.1", 8000, 8025, twitter=True)
    assert [c.name for c in children] == ["web", "sandbox", "twitter"]
    assert children[2].env["THREADBOT_TWITTER_API_BASE"] == "http://127.0.0.1:8025"
    assert [c.name for c in plan(load_settings(), "h", 1, 2, twitter=False)] == ["web"]


def test_plan_talks_to_x_when_credentials_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"):
        monkeypatch.setenv(f"THREADBOT_TWITTER_{name}", "x")
    children = plan(load_settings(), "127.0.0.1", 8000, 8025, twitter=True)
    assert [c.name for c in children] == ["web", "twitter"]
    assert children[1].env == {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_the_bot_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    env = os.environ | {"THREADBOT_DATABASE_URL": url, "THREADBOT_LOG_LEVEL": "WARNING"}
    threadbot = [sys.executable, "-m", "agent"]
    subprocess.run([*threadbot, "db", "upgrade"], cwd=ROOT, env=env, check=True)
    port = free_port()
    run = subprocess.Popen(
        [*threadbot, "run", "--no-twitter", "--port", str(port)], cwd=ROOT, env=env
    )
    try:
        deadline, body = time.monotonic() + 120, b""
        while time.monotonic() < deadline and run.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read()
                    break
            except OSError:
                time.sleep(0.5)
        assert body, "the web app never answered /healthz"
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(30) == 0
