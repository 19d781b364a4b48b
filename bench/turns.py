"""Benchmark Agent.handle on the scripted path: turns per second and p50/p99 latency.

Runs against SQLite (a temporary file) and PostgreSQL (a throw-away schema), single-threaded
and with 8 threads, spreading turns over 1,000 users. Uses the shipped NLU model, no generator
(the scripted path is what this measures).

With ``--generating`` it measures instead whether scripted turns wait for generated ones: the
scripted p99 of 4 threads alone, then beside 4 more threads whose every message falls back to
the shipped generator (models/generator). Usage:

    .venv/bin/python bench/turns.py                # both databases, 1 and 8 threads
    .venv/bin/python bench/turns.py --db sqlite --turns 2000
    .venv/bin/python bench/turns.py --generating --turns 2000
    .venv/bin/python bench/turns.py --profile      # where a scripted turn's time goes

``--profile`` runs the SQLite single-thread row under cProfile and prints the functions that
take the most time, cumulative and own.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.scratch_db, run as a script from anywhere

import generator  # noqa: E402
import nlu  # noqa: E402
from agent.core.messages import Incoming  # noqa: E402
from agent.core.pipeline import Agent  # noqa: E402
from agent.core.script import DialogueScript, load_script  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from agent.storage.db import make_sessionmaker  # noqa: E402
from nlu.types import IntentParser  # noqa: E402
from tests.scratch_db import postgres_schema, sqlite_database  # noqa: E402

# Every message here fires a scripted transition from the state the previous one left.
CYCLE = ["hello", "I'm interested in machine learning", "yes", "restart"]
# Small talk the script has no answer for: every one of these turns runs the generator.
SMALL_TALK = [
    "my cat keeps sleeping on my keyboard",
    "what did you have for breakfast today",
    "it has been raining here all week",
    "I lost my umbrella on the bus again",
]


@contextmanager
def database(kind: str) -> Iterator[Engine]:
    """A migrated, empty database of ``kind`` that is removed afterwards."""
    if kind == "postgres":
        with postgres_schema(pool_size=10) as engine:
            yield engine
        return
    with tempfile.TemporaryDirectory() as folder, sqlite_database(Path(folder) / "b.db") as engine:
        yield engine


def play(agent: Agent, turns: int, users: int, threads: int, index: int) -> list[float]:
    """Thread ``index`` of ``threads``'s share of the turns; its latencies (ms)."""
    latencies = []
    for n in range(index, turns, threads):
        user = n % users
        message = CYCLE[(n // users) % len(CYCLE)]
        started = time.perf_counter()
        agent.handle(Incoming(channel="bench", user_id=f"u{user}", text=message))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def run(agent: Agent, turns: int, users: int, threads: int) -> tuple[float, list[float]]:
    """Play ``turns`` messages over ``users`` users; return turns/s and per-turn latencies (ms)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(lambda i: play(agent, turns, users, threads, i), range(threads))
        latencies = [ms for part in parts for ms in part]
    return turns / (time.perf_counter() - started), latencies


def run_beside_generating(
    agent: Agent, turns: int, users: int, threads: int, generating: int
) -> tuple[list[float], list[float], int]:
    """Scripted latencies (as ``run``) while ``generating`` more threads each talk small talk
    until the scripted turns are done; their latencies and how many ran the generator."""
    stop = threading.Event()

    def small_talk(index: int) -> tuple[list[float], int]:
        latencies, generated = [], 0
        while not stop.is_set():
            text = SMALL_TALK[len(latencies) % len(SMALL_TALK)]
            started = time.perf_counter()
            reply = agent.handle(Incoming(channel="bench", user_id=f"talker{index}", text=text))
            latencies.append((time.perf_counter() - started) * 1000)
            generated += reply.tier == "generated" or reply.rejected_reason is not None
        return latencies, generated

    with ThreadPoolExecutor(generating) as pool:
        talkers = [pool.submit(small_talk, i) for i in range(generating)]
        try:
            _, scripted = run(agent, turns, users, threads)
        finally:
            stop.set()
        results = [f.result() for f in talkers]
    return scripted, [ms for part, _ in results for ms in part], sum(n for _, n in results)


def generating_rows(
    kinds: list[str], turns: int, users: int, script: DialogueScript, model: IntentParser
) -> None:
    """Scripted p99 of 4 threads alone and beside 4 threads that run the shipped generator."""
    replier = generator.load(ROOT / "models/generator", rerank=load_settings().generator_rerank)
    print(
        "| database | scripted threads | generating threads | scripted p50 ms | scripted p99 ms "
        "| generated turns | generated p50 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        p99 = {}
        for generating in (0, 4):
            with database(kind) as engine:
                agent = Agent(script, model, replier, make_sessionmaker(engine))
                run(agent, users, users, 4)  # warm-up: creates every user
                agent.handle(Incoming(channel="bench", user_id="warm", text=SMALL_TALK[0]))
                if generating:
                    scripted, talked, generated = run_beside_generating(
                        agent, turns, users, 4, generating
                    )
                else:
                    scripted, talked, generated = run(agent, turns, users, 4)[1], [], 0
            p99[generating] = percentile(scripted, 99)
            talk_p50 = f"{percentile(talked, 50):.0f}" if len(talked) > 1 else "-"
            print(
                f"| {kind} | 4 | {generating} | {percentile(scripted, 50):.2f} | "
                f"{p99[generating]:.2f} | {generated} | {talk_p50} |"
            )
        print(f"\n{kind}: scripted p99 beside generating threads is {p99[4] / p99[0]:.2f}x alone\n")


def profile_turns(turns: int, users: int, script: DialogueScript, model: IntentParser) -> None:
    """cProfile of ``turns`` scripted turns on SQLite in one thread (after the warm-up that
    creates every user): the top functions by cumulative and by own time."""
    with database("sqlite") as engine:
        agent = Agent(script, model, None, make_sessionmaker(engine))
        run(agent, users, users, 1)
        profiler = cProfile.Profile()  # in this thread: cProfile sees no other
        started = time.perf_counter()
        profiler.enable()
        play(agent, turns, users, 1, 0)
        profiler.disable()
    rate = turns / (time.perf_counter() - started)
    print(f"{turns} turns at {rate:,.0f} turns/s under the profiler")
    stats = pstats.Stats(profiler)
    for order in ("cumulative", "tottime"):
        stats.sort_stats(order).print_stats(25)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--turns", type=int, default=4000, help="turns per measurement")
    parser.add_argument("--users", type=int, default=1000, help="distinct users")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--generating",
        action="store_true",
        help="instead: scripted p99 of 4 threads alone and beside 4 threads running the generator",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead: profile the SQLite single-thread row and print where the time goes",
    )
    args = parser.parse_args()
    if args.turns < args.users:
        parser.error("--turns must be at least --users, so every user gets a turn")

    script = load_script(ROOT / "data/bot/dialogue.yml")
    model = nlu.load(ROOT / "models/nlu")  # the shipped NLU: parsing is part of every turn
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.generating:
        generating_rows(kinds, args.turns, args.users, script, model)
        return
    if args.profile:
        profile_turns(args.turns, args.users, script, model)
        return
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
