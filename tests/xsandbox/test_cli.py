"""`threadbot sandbox`: its options, refused with a reason, and a file loaded and served."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.conftest import run_cli as run


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


def test_sandbox_command_loads_a_file_and_serves_it(tmp_path: Path) -> None:
    threads = tmp_path / "threads.jsonl"
    threads.write_text(json.dumps({"turns": ["one", "two"]}) + "\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    threadbot = str(Path(sys.executable).parent / "threadbot")
    cmd = [threadbot, "sandbox", "--port", "0", "--load", str(threads)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as proc:
        try:
            assert proc.stdout is not None
            loaded = proc.stdout.readline()
            assert "loaded 1 threads (2 tweets)" in loaded
            url = proc.stdout.readline().split()[4]
            world = requests.get(f"{url}/sandbox/world", timeout=5).json()
            assert [t["text"] for t in world["tweets"]] == ["one", "two"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)  # a loaded 2-core box takes seconds to tear torch down
    bad = tmp_path / "bad.csv"
    bad.write_text("x")
    result = subprocess.run([*cmd[:-1], str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "unknown corpus format" in result.stderr
