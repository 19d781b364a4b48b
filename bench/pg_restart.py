"""Restart PostgreSQL itself under a live `threadbot twitter run` (issue 24): nothing lost or
doubled, and nobody waits much longer than the outage.

Makes a database (``--database``, dropped first), starts the sandbox (`threadbot sandbox`,
posts answering slowly now and then) with ``--mentions`` waiting from ``--users`` people, runs
the loop as deployed, and once ``--restart-after`` replies are out restarts the server with
``pg_ctlcluster`` (run as root, on a machine where nothing else needs the server meanwhile).
Prints how long the restart took, how long after it the last reply came, and whether every
mention got exactly one reply. The suite's test cuts the loop's connections instead
(tests/agent/channels/twitter/test_backlog.py), since its database is shared.

    .venv/bin/python bench/pg_restart.py
    .venv/bin/python bench/pg_restart.py --mentions 1000 --users 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", sql],
        check=True,
        capture_output=True,
    )


class Sandbox:
    """`threadbot sandbox` in its own process, and its control API."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        limits = [f"--limit={e}=1000000" for e in ("post", "mentions", "search", "lookup")]
        self.process = subprocess.Popen(
            [str(BIN / "threadbot"), "sandbox", "--port", str(port), *limits,
             "--fault", "slow=0.2", "--fault", "slow_seconds=0.2"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            try:
                self.call("/sandbox/world")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def replies(self) -> dict[str, list[str]]:
        """The bot's reply ids per mention id."""
        world = self.call("/sandbox/world")
        out: dict[str, list[str]] = {}
        for tweet in world["tweets"]:
            if tweet["author_id"] == world["bot"]["id"]:
                for ref in tweet.get("referenced_tweets", []):
                    out.setdefault(ref["id"], []).append(tweet["id"])
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mentions", type=int, default=300)
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--restart-after", type=int, default=100, help="replies out before it")
    ap.add_argument("--database", default="tb_restart")
    ap.add_argument("--port", type=int, default=8031)
    ap.add_argument("--cluster", default="15 main", help="the version and name pg_ctlcluster takes")
    args = ap.parse_args()
    _psql(f"DROP DATABASE IF EXISTS {args.database}")
    _psql(f"CREATE DATABASE {args.database}")
    env = os.environ | {
        "THREADBOT_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}",
        "THREADBOT_DATA_DIR": str(ROOT / "data" / "bot"),
        "THREADBOT_NLU_MODEL": str(ROOT / "models" / "nlu"),
        "THREADBOT_GENERATOR_MODEL": str(ROOT / "no-generator-here"),  # scripted + canned only
        "THREADBOT_LOG_LEVEL": "WARNING",
        "THREADBOT_TWITTER_API_BASE": f"http://127.0.0.1:{args.port}",
        "THREADBOT_TWITTER_POLL_INTERVAL_SECONDS": "0.2",
        "THREADBOT_TWITTER_USER_REPLIES_PER_HOUR": "100000",
        "THREADBOT_TWITTER_POSTS_PER_HOUR": "1e9",
        "THREADBOT_TWITTER_POST_BURST": "100000",
        "THREADBOT_TWITTER_RECONCILE_GRACE_SECONDS": "0",
    }
    subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    sandbox = Sandbox(args.port, env)
    for i in range(args.mentions):
        sandbox.call(
            "/sandbox/tweet", {"username": f"fan{i % args.users}", "text": f"@ada hello #{i}"}
        )
    log_file = Path("/tmp/pg_restart_loop.log")
    with log_file.open("w") as log:  # a file, not a pipe: a full pipe would stall the loop
        loop = subprocess.Popen(
            [str(BIN / "threadbot"), "twitter", "run", "--backfill"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            while len(sandbox.replies()) < args.restart_after:
                time.sleep(0.1)
            before = len(sandbox.replies())
            started = time.monotonic()
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", *args.cluster.split(), "restart"],
                check=True,
            )
            back = time.monotonic()
            last, count = back, before
            while count < args.mentions and time.monotonic() < back + 600:
                time.sleep(0.1)
                if (now := len(sandbox.replies())) != count:
                    last, count = time.monotonic(), now
            answered = sandbox.replies()
        finally:
            loop.terminate()
            loop.wait(timeout=60)
            sandbox.process.terminate()
            sandbox.process.wait(timeout=30)
    doubled = sum(len(ids) > 1 for ids in answered.values())
    print(f"{platform.machine()}, {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    print(f"restart took {back - started:.1f} s with {before} of {args.mentions} replies out")
    print(f"answered {len(answered)} of {args.mentions}, {doubled} more than once")
    print(f"the last reply came {last - back:.1f} s after the server was back")
    print(f"the loop's log: {log_file} ({len(log_file.read_text().splitlines())} lines)")


if __name__ == "__main__":
    main()
