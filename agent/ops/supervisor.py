"""``threadbot run``: the web app, and the Twitter loop (with a local X sandbox when no
credentials are set), as child processes that start and stop together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import click

from agent.settings import Settings

# Children get this long to finish their current request or mention before being killed.
STOP_GRACE_SECONDS = 10.0


@dataclass
class Child:
    """One supervised process: its name for messages, its command and extra environment."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


def has_x_credentials(settings: Settings) -> bool:
    oauth1 = (
        settings.twitter_consumer_key,
        settings.twitter_consumer_secret,
        settings.twitter_access_token,
        settings.twitter_access_token_secret,
    )
    return settings.twitter_oauth2_user_token is not None or all(oauth1)


def plan(settings: Settings, host: str, port: int, sandbox_port: int, twitter: bool) -> list[Child]:
    """Which processes to run: web always; the loop, against X or a local sandbox."""
    children = [Child("web", ["serve", "--host", host, "--port", str(port), "--workers", "1"])]
    if not twitter:
        return children
    if has_x_credentials(settings):
        children.append(Child("twitter", ["twitter", "run"]))
        return children
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    children.append(Child("sandbox", ["sandbox", "--port", str(sandbox_port)]))
    # A local sandbox answers at once, so poll often: replies show up within seconds.
    env = {"THREADBOT_TWITTER_API_BASE": sandbox}
    if "THREADBOT_TWITTER_POLL_INTERVAL_SECONDS" not in os.environ:
        env["THREADBOT_TWITTER_POLL_INTERVAL_SECONDS"] = "2"
    children.append(Child("twitter", ["twitter", "run"], env))
    return children


def _stop(children: list[Child]) -> None:
    running = [c for c in children if c.process and c.process.poll() is None]
    for child in running:
        assert child.process is not None
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"{child.name} did not stop in {STOP_GRACE_SECONDS:.0f} s; killing it")
            child.process.kill()


def supervise(children: list[Child]) -> int:
    """Start every child; when one exits or we get SIGINT/SIGTERM, stop them all."""
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            child.process = subprocess.Popen(
                [sys.executable, "-m", "agent", *child.args], env=os.environ | child.env
            )
        while not stopping:
            ended = next((c for c in children if c.process and c.process.poll() is not None), None)
            if ended is not None:
                assert ended.process is not None
                click.echo(f"{ended.name} exited with status {ended.process.returncode}; stopping")
                _stop(children)
                return 1
            time.sleep(0.2)
        _stop(children)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
