"""Benchmark the web app: admin pages on a seeded database, and chat requests/s under gunicorn.

Seeds 10,000 users and 200,000 turns with bulk inserts (SQLite file and a throw-away
PostgreSQL schema), then measures p50/p95 of the conversation list (with and without filters),
the review inbox, a thread view and the dashboard, in process through Flask's test client (the
app and database time a visitor waits for, without a network). Then it serves the app with
gunicorn and drives POST /api/v1/chat on the scripted path from a client process.

    .venv/bin/python bench/web.py                                  # everything, both databases
    .venv/bin/python bench/web.py --db sqlite --users 1000 --turns 20000   # a quick look
    .venv/bin/python bench/web.py --db sqlite --keep /tmp/seeded.db --skip-chat  # keep the data
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.settings import load_settings  # noqa: E402
from agent.storage.models import Conversation, Turn, User  # noqa: E402
from agent.storage.review_models import Annotation  # noqa: E402
from tests.scratch_db import postgres_schema, sqlite_database  # noqa: E402
from web.review import accounts  # noqa: E402

# Every message fires a scripted transition from the state the previous one left.
CYCLE = ["hello", "I'm interested in machine learning", "yes", "restart"]
# (user text, intent, state before, state after, scripted reply) for seeded turns.
SAYINGS = [
    (
        "hello there!",
        "greet",
        "idle",
        "asked_topic",
        "Hi! I'm Ada. What part of AI are you curious about?",
    ),
    (
        "hi ada",
        "greet",
        "chatting",
        "asked_topic",
        "Hello again! Which AI topic should we dig into?",
    ),
    (
        "I'm really into machine learning",
        "share_interest",
        "asked_topic",
        "asked_opinion",
        "Machine learning, great choice! Will it change everyday life in five years?",
    ),
    (
        "robots are my thing",
        "share_interest",
        "idle",
        "asked_opinion",
        "Robotics, great choice! Will it change everyday life in five years?",
    ),
    (
        "yes, definitely",
        "affirm",
        "asked_opinion",
        "chatting",
        "An optimist! What excites you most?",
    ),
    ("nah, not really", "deny", "asked_opinion", "chatting", "A skeptic! What worries you most?"),
    (
        "what can you do?",
        "capabilities",
        "chatting",
        "chatting",
        "I chat about AI: ask me anything.",
    ),
    ("are you a bot?", "bot_identity", "idle", "idle", "I am! A small bot that loves AI."),
    ("thanks a lot", "thanks", "chatting", "chatting", "Any time!"),
    (
        "what do you think about AGI?",
        "ask_bot_opinion",
        "chatting",
        "chatting",
        "I think it is further off than the headlines say.",
    ),
    (
        "my cat knocked over the plant again",
        "out_of_scope",
        "chatting",
        "chatting",
        "Ha! Cats. Shall we get back to AI?",
    ),
    (
        "can transformers write poems about pizza",
        "ask_bot_opinion",
        "chatting",
        "chatting",
        "They can, and some are even good.",
    ),
    ("bye for now", "goodbye", "chatting", "idle", "Bye! Come back any time."),
    ("start over", "restart", "chatting", "idle", "Fresh start! What part of AI interests you?"),
]
REPLIES = {
    "generated": "I think models that learn from fewer examples are the exciting part.",
    "canned": "Sorry, I lost the thread there. What part of AI should we talk about?",
    "silent": None,
}
TIER_WEIGHTS = {"scripted": 70, "generated": 15, "canned": 10, "silent": 5}
CHANNEL_WEIGHTS = {"twitter": 60, "web": 35, "cli": 5}
BATCH = 5_000


@contextmanager
def database(kind: str, keep: Path | None) -> Iterator[Engine]:
    """A migrated, empty database of ``kind``, removed afterwards unless ``keep`` names a file."""
    if kind == "postgres":
        with postgres_schema() as engine:
            yield engine
        return
    with tempfile.TemporaryDirectory() as folder:
        path = keep or Path(folder) / "bench.db"
        path.unlink(missing_ok=True)
        with sqlite_database(path) as engine:
            yield engine


def seed(engine: Engine, users: int, turns: int, days: int = 60, rng_seed: int = 7) -> float:
    """Bulk-insert ``users`` users with ``turns`` turns over ``days`` days; returns seconds."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    tiers, tier_w = list(TIER_WEIGHTS), list(TIER_WEIGHTS.values())
    channels, channel_w = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    # A few chatty users and many quiet ones, as on a real account.
    owners = [min(users, int(users * rng.random() ** 1.6) + 1) for _ in range(turns)]
    user_rows, conv_rows = [], []
    for uid in range(1, users + 1):
        channel = rng.choices(channels, channel_w)[0]
        external = str(10**17 + uid) if channel == "twitter" else f"{channel}-user-{uid}"
        handle = f"fan_{uid}_of_ai" if channel == "twitter" else None
        user_rows.append(
            {
                "id": uid,
                "channel": channel,
                "external_id": external,
                "handle": handle,
                "opted_out": rng.random() < 0.01,
                "paused": rng.random() < 0.005,
                "created_at": now - timedelta(days=days),
            }
        )
    turn_rows: list[dict[str, Any]] = []
    last: dict[int, tuple[datetime, str]] = {}
    # Turn ids follow time, as they do when a live bot writes them.
    times = sorted(now - timedelta(seconds=rng.random() * days * 86400) for _ in owners)
    rng.shuffle(owners)
    for tid, (uid, at) in enumerate(zip(owners, times, strict=True), start=1):
        said, intent, before, after, scripted = rng.choice(SAYINGS)
        tier = rng.choices(tiers, tier_w)[0]
        confidence = rng.betavariate(5, 1.6) if tier == "scripted" else rng.betavariate(2, 3)
        user = user_rows[uid - 1]
        turn_rows.append(
            {
                "id": tid,
                "conversation_id": uid,
                "channel": user["channel"],
                "created_at": at,
                "user_text": said,
                "reply_text": scripted if tier == "scripted" else REPLIES[tier],
                "intent": intent,
                "confidence": confidence,
                "trusted": tier == "scripted",
                "alternatives": [
                    {"name": intent, "confidence": confidence},
                    {"name": "thanks", "confidence": (1 - confidence) / 2},
                ],
                "entities": [],
                "slots": {},
                "state_before": before,
                "state_after": after if tier == "scripted" else before,
                "tier": tier,
                "rejected_reason": None,
                "session_expired": False,
                "nlu_version": "nlu-bench",
                "generator_version": "gen-bench" if tier == "generated" else None,
                "latency_ms": rng.lognormvariate(2.3, 0.6),
                "thread_id": str(10**18 + uid) if user["channel"] == "twitter" else None,
                "message_id": str(10**18 + 10**6 + tid) if user["channel"] == "twitter" else None,
                "in_reply_to_id": None,
            }
        )
        if at > last.get(uid, (at - timedelta(days=999), ""))[0]:
            last[uid] = (at, turn_rows[-1]["state_after"])
    for uid in range(1, users + 1):
        at, state = last.get(uid, (now - timedelta(days=days), "idle"))
        conv_rows.append(
            {
                "id": uid,
                "user_id": uid,
                "state": state,
                "slots": {},
                "last_reply": None,
                "last_activity": at,
                "version": 1,
            }
        )
    reviewed = rng.sample(range(1, turns + 1), k=turns // 50)
    note_rows = [
        {
            "turn_id": tid,
            "verdict": rng.choice(["good", "bad"]),
            "better_reply": None,
            "corrected_intent": None,
            "approved": rng.random() < 0.5,
            "admin_id": None,
            "updated_at": now,
        }
        for tid in reviewed
    ]
    with engine.begin() as connection:
        for table, rows in (
            (User, user_rows),
            (Conversation, conv_rows),
            (Turn, turn_rows),
            (Annotation, note_rows),
        ):
            for start in range(0, len(rows), BATCH):
                connection.execute(insert(table), rows[start : start + BATCH])
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; later inserts must not collide.
            for name in ("users", "conversations", "turns"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                         f"(SELECT max(id) FROM {name}))")
                )  # fmt: skip
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def admin_pages(engine: Engine, runs: int) -> list[tuple[str, float, float, float]]:
    """p50 and p95 wall time (ms) of each admin page rendered in process, and median CPU ms.

    On SQLite the whole request (queries included) runs in this process, so its CPU time is
    what the page costs on an idle core, however busy the machine is.
    """
    from web import create_app

    url = engine.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url)
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "SECRET_KEY": secrets.token_hex(16)})
    password = secrets.token_urlsafe(16)
    with app.extensions["threadbot"].sessions.begin() as session:
        accounts.create_admin(session, f"bench-{uuid.uuid4().hex[:6]}", password)
        name = session.scalar(text("SELECT username FROM admin_users ORDER BY id DESC LIMIT 1"))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").text)
    assert token is not None
    form = {"csrf_token": token[1], "username": name, "password": password}
    assert client.post("/admin/login", data=form).status_code == 303
    with engine.connect() as connection:
        conv_ids = [row[0] for row in connection.execute(text("SELECT id FROM conversations"))]
    since = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    rng = random.Random(3)
    pages: list[tuple[str, Callable[[], str]]] = [
        ("conversations", lambda: "/admin/conversations"),
        ("conversations, page 50", lambda: "/admin/conversations?page=50"),
        ("conversations, text search", lambda: "/admin/conversations?q=robots"),
        ("conversations, user search", lambda: "/admin/conversations?user=fan_12"),
        ("conversations, intent+tier", lambda: "/admin/conversations?intent=deny&tier=canned"),
        (
            "conversations, 7 days+low confidence+twitter",
            lambda: f"/admin/conversations?date_from={since}&band=low&channel=twitter",
        ),
        ("review inbox", lambda: "/admin/review"),
        ("thread view", lambda: f"/admin/conversations/{rng.choice(conv_ids)}"),
        ("dashboard, first load (30 days counted)", lambda: "/admin/"),
        ("dashboard, later loads (past days remembered)", lambda: "/admin/"),
        ("dashboard, within 30 s (page cache)", lambda: "/admin/"),
    ]
    results = []
    settled = app.extensions["threadbot"].settled_days
    for label, make_url in pages:
        # The dashboard three ways: everything counted (a worker's first load), only today and
        # yesterday counted (later loads), and the 30 s page cache a reviewer's reloads hit.
        app.config["DASHBOARD_CACHE_SECONDS"] = 30 if "page cache" in label else 0
        client.get(make_url())  # warm caches, as a visitor's second click would
        times, cpu = [], []
        for _ in range(runs):
            if "first load" in label:
                settled.clear()
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(make_url())
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        results.append((label, pct(times, 50), pct(times, 95), statistics.median(cpu)))
    return results


def chat_rate(engine: Engine, workers: int, clients: int, seconds: float) -> dict[str, float]:
    """Requests/s and latency of POST /api/v1/chat under gunicorn, scripted path."""
    url = engine.url.render_as_string(hide_password=False)
    env = os.environ | {
        "THREADBOT_DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
        "THREADBOT_SECRET_KEY": secrets.token_hex(16),
        "THREADBOT_LOG_LEVEL": "WARNING",
        # The scripted path is what this measures; a fallback would time the generator instead.
        "THREADBOT_GENERATOR_MODEL": "/nonexistent",
    }
    if engine.dialect.name == "postgresql":
        schema = engine.dialect.default_schema_name
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar() or schema
        env["PGOPTIONS"] = f"-csearch_path={schema}"
    port = 18_000 + random.randrange(1000)
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", str(workers), "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", "web:create_app()"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.time() + 180  # loading the models is slow on a busy machine
        while True:
            try:
                probe = HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("gunicorn did not become ready")
            time.sleep(0.3)
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def client(index: int) -> None:
            mine, n = [], 0
            connection = HTTPConnection("127.0.0.1", port, timeout=10)
            while time.perf_counter() < stop:
                body = json.dumps({"user": f"load-{index}-{n // len(CYCLE) % 50}",
                                   "text": CYCLE[n % len(CYCLE)]})  # fmt: skip
                started = time.perf_counter()
                try:
                    connection.request("POST", "/api/v1/chat", body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    response = connection.getresponse()
                    payload = json.loads(response.read())
                    ok = response.status == 200 and payload["tier"] == "scripted"
                except (OSError, ValueError):
                    ok = False
                    connection.close()
                    connection = HTTPConnection("127.0.0.1", port, timeout=10)
                mine.append((time.perf_counter() - started) * 1000)
                if not ok:
                    with lock:
                        errors[0] += 1
                n += 1
            with lock:
                latencies.extend(mine)

        cpu_before = _tree_cpu_seconds(server.pid)
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cpu = _tree_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": (len(latencies) - errors[0]) / elapsed,
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        # CPU the server spent per request: 2 idle cores could serve about 2 / this.
        "cpu_ms": server_cpu * 1000 / max(1, len(latencies)),
    }


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo += [int(child) for child in children]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=60, help="requests per admin page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent chat clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="chat load duration")
    parser.add_argument("--skip-chat", action="store_true", help="admin pages only")
    parser.add_argument("--keep", type=Path, help="SQLite only: keep the seeded file here")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        with database(kind, args.keep if kind == "sqlite" else None) as engine:
            took = seed(engine, args.users, args.turns)
            print(f"\n## {kind}: seeded {args.users:,} users, {args.turns:,} turns in {took:.1f} s")
            print("\n| page | p50 ms | p95 ms | CPU ms (median) |\n|---|---|---|---|")
            for label, p50, p95, cpu in admin_pages(engine, args.runs):
                print(f"| {label} | {p50:.1f} | {p95:.1f} | {cpu:.1f} |", flush=True)
            if not args.skip_chat:
                result = chat_rate(engine, args.workers, args.clients, args.seconds)
                print(
                    f"\nPOST /api/v1/chat, gunicorn -w {args.workers}, {args.clients} clients, "
                    f"{args.seconds:.0f} s: {result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, "
                    f"p95 {result['p95']:.1f} ms, {result['errors']} errors of "
                    f"{result['requests']} requests; server CPU {result['cpu_ms']:.1f} ms/request "
                    f"(2 idle cores: about {2000 / result['cpu_ms']:.0f} req/s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
