"""Benchmark Agent.handle on the scripted path: turns per second and p50/p99 latency.

Runs against SQLite (a temporary file) and PostgreSQL (a throw-away schema), single-threaded
and with 8 threads, spreading turns over 1,000 users. Uses the shipped NLU model, no generator
(the scripted path is what this measures). Usage:

    .venv/bin/python bench/turns.py                # both databases, 1 and 8 threads
    .venv/bin/python bench/turns.py --db sqlite --turns 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.scratch_db, run as a script from anywhere

import nlu  # noqa: E402
from agent.core.messages import Incoming  # noqa: E402
from agent.core.pipeline import Agent  # noqa: E402
from agent.core.script import load_script  # noqa: E402
from agent.storage.db import make_sessionmaker  # noqa: E402
from tests.scratch_db import postgres_schema, sqlite_database  # noqa: E402

# Every message here fires a scripted transition from the state the previous one left.
CYCLE = ["hello", "I'm interested in machine learning", "yes", "restart"]


@contextmanager
def database(kind: str) -> Iterator[Engine]:
    """A migrated, empty database of ``kind`` that is removed afterwards."""
    if kind == "postgres":
        with postgres_schema(pool_size=10) as engine:
            yield engine
        return
    with tempfile.TemporaryDirectory() as folder, sqlite_database(Path(folder) / "b.db") as engine:
        yield engine


def run(agent: Agent, turns: int, users: int, threads: int) -> tuple[float, list[float]]:
    """Play ``turns`` messages over ``users`` users; return turns/s and per-turn latencies (ms)."""

    def worker(index: int) -> list[float]:
        latencies = []
        for n in range(index, turns, threads):
            user = n % users
            message = CYCLE[(n // users) % len(CYCLE)]
            started = time.perf_counter()
            agent.handle(Incoming(channel="bench", user_id=f"u{user}", text=message))
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = [ms for part in pool.map(worker, range(threads)) for ms in part]
    return turns / (time.perf_counter() - started), latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--turns", type=int, default=4000, help="turns per measurement")
    parser.add_argument("--users", type=int, default=1000, help="distinct users")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    if args.turns < args.users:
        parser.error("--turns must be at least --users, so every user gets a turn")

    script = load_script(ROOT / "data/bot/dialogue.yml")
    model = nlu.load(ROOT / "models/nlu")  # the shipped NLU: parsing is part of every turn
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print("| database | threads | turns | turns/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        for threads in args.threads:
            with database(kind) as engine:
                agent = Agent(script, model, None, make_sessionmaker(engine))
                run(agent, args.users, args.users, threads)  # warm-up: creates every user
                rate, latencies = run(agent, args.turns, args.users, threads)
            print(
                f"| {kind} | {threads} | {args.turns} | {rate:,.0f} | "
                f"{percentile(latencies, 50):.2f} | {percentile(latencies, 99):.2f} |"
            )


if __name__ == "__main__":
    main()
