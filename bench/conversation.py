"""Play multi-turn conversations through the real chat API and report what users would read.

Starts the web app (gunicorn, one worker) on a fresh SQLite database with the shipped script and
models (or the ones given), plays every conversation in bench/conversations/*.yml over HTTP
(POST /api/v1/chat, one user per conversation), and reports per set (dev, heldout) and overall:

- tier shares (scripted, generated, canned, silent);
- generic-reply rate: share of replies that are one of the ten most frequent reply texts, over
  all replies and over generated ones (as `threadbot generator eval` counts it);
- distinct-1/2 over all replies and over generated ones;
- salience (TF-IDF cosine between message and reply) of the generated replies, with the
  reference replies' salience on the same messages beside it;
- on-topic rate: share of the replies to AI questions that mention the question's topic;
- follow-ups on subject: share of the replies to follow-ups (turns that only make sense after
  the thread's first, "where is it used?") that mention the thread's subject;
- immediate repeats: a reply equal to the bot's previous reply in the same conversation;
- stock-phrase rate (`generator.evaluate.has_stock_phrase`) of the generated replies, with the
  reference replies' rate on the same messages beside it;
- persona-breaking rate of the generated replies: share that `Persona().breaks` (the bot
  persona: no claimed studies, job, family, body, meals or trips);
- fallback repeats: fallback replies are those of the tiers "generated" and "canned"; the most
  times any one fallback text was sent within the set (across its conversations), and every
  fallback text sent more than twice with its count (the target: none);
- latency of the HTTP round trip, p50/p95/p99, overall and for generated replies.

    .venv/bin/python bench/conversation.py
    .venv/bin/python bench/conversation.py --transcript /tmp/ada.txt      # every exchange
    .venv/bin/python bench/conversation.py --data-dir /tmp/main/data/bot \\
        --nlu-model /tmp/main/models/nlu                                   # another script
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.evaluate import distinct_n, generic_rate, salience, stock_rate  # noqa: E402
from generator.persona import Persona  # noqa: E402

CONVERSATIONS = ROOT / "bench" / "conversations"
KINDS = {"greeting", "ai_question", "follow_up", "opinion", "answer", "everyday", "closing"}
ABOUT_KINDS = ("ai_question", "follow_up")  # turns whose on-subject reply names `about`
FALLBACK_TIERS = ("generated", "canned")
MAX_FALLBACK_USES = 2  # a fallback text sent more often than this in one set is listed


@dataclass(frozen=True)
class Exchange:
    """One turn as played: what was said, what came back, and how."""

    conversation: str
    kind: str
    user: str
    reference: str
    about: tuple[str, ...]
    reply: str
    tier: str
    intent: str | None
    ms: float


@dataclass
class Played:
    """The exchanges of one conversation set, in order."""

    name: str
    exchanges: list[Exchange] = field(default_factory=list)


def load_sets(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every ``*.yml`` in ``folder``: set name -> conversations; malformed turns are errors."""
    sets = {}
    for path in sorted(folder.glob("*.yml")):
        conversations = yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
        for conv in conversations:
            for turn in conv["turns"]:
                if turn.get("kind") not in KINDS or not turn.get("user"):
                    raise SystemExit(f"{path}: {conv['name']}: bad turn {turn!r}")
                if turn["kind"] in ABOUT_KINDS and not turn.get("about"):
                    raise SystemExit(f"{path}: {conv['name']}: {turn['kind']} needs 'about'")
        sets[path.stem] = conversations
    if not sets:
        raise SystemExit(f"no conversation files (*.yml) in {folder}")
    return sets


class Server:
    """``threadbot serve`` on a fresh SQLite file, in a subprocess; a context manager."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = 18_500 + secrets.randbelow(1000)
        self.env = os.environ | env
        self.log = log

    def __enter__(self) -> Server:
        threadbot = [sys.executable, "-m", "agent"]
        subprocess.run([*threadbot, "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [*threadbot, "serve", "--port", str(self.port), "--workers", "1"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.time() + 300  # loading the models takes a while on a busy machine
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped; its log: {self.log}")
            try:
                probe = HTTPConnection("127.0.0.1", self.port, timeout=5)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise SystemExit(f"the server was not ready after 300 s; its log: {self.log}")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def chat(
        self, connection: HTTPConnection, user: str, text: str
    ) -> tuple[dict[str, Any], float]:
        body = json.dumps({"user": user, "text": text})
        started = time.perf_counter()
        connection.request("POST", "/api/v1/chat", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = json.loads(response.read())
        ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"POST /api/v1/chat answered {response.status}: {payload}")
        return payload, ms


def play(server: Server, sets: dict[str, list[dict[str, Any]]]) -> list[Played]:
    """Every conversation, one fresh user each, turn by turn."""
    played = []
    total = sum(len(c["turns"]) for convs in sets.values() for c in convs)
    connection = HTTPConnection("127.0.0.1", server.port, timeout=60)
    with tqdm(total=total, unit="turn", desc="conversations") as progress:
        for name, conversations in sets.items():
            result = Played(name)
            for conv in conversations:
                user = f"bench-{conv['name']}-{uuid.uuid4().hex[:8]}"
                for turn in conv["turns"]:
                    payload, ms = server.chat(connection, user, turn["user"])
                    result.exchanges.append(
                        Exchange(
                            conversation=conv["name"],
                            kind=turn["kind"],
                            user=turn["user"],
                            reference=turn.get("reference", ""),
                            about=tuple(turn.get("about", ())),
                            reply=payload["reply"] or "",
                            tier=payload["tier"],
                            intent=payload["intent"],
                            ms=ms,
                        )
                    )
                    progress.update()
            played.append(result)
    connection.close()
    return played


def mentions(reply: str, about: tuple[str, ...]) -> bool:
    """Whether ``reply`` names the topic: a word starting with one of ``about``, any case."""
    return any(re.search(rf"\b{re.escape(word)}", reply, re.IGNORECASE) for word in about)


def on_subject_rate(exchanges: list[Exchange], side: str) -> float | None:
    """Share of ``exchanges`` whose reply (``side``: "reply" or "reference") names the thread's
    subject; None when there are none."""
    if not exchanges:
        return None
    return round(sum(mentions(getattr(e, side), e.about) for e in exchanges) / len(exchanges), 3)


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def fallback_uses(exchanges: list[Exchange]) -> Counter[str]:
    """How many times each fallback text (tiers in :data:`FALLBACK_TIERS`) was sent."""
    return Counter(e.reply for e in exchanges if e.tier in FALLBACK_TIERS and e.reply)


def persona_rate(replies: list[str]) -> float:
    """Share of ``replies`` that break the bot persona (claim a human life)."""
    persona = Persona()
    return sum(map(persona.breaks, replies)) / max(1, len(replies))


def figures(exchanges: list[Exchange]) -> dict[str, Any]:
    """The report's numbers for one list of exchanges."""
    replies = [e.reply for e in exchanges]
    generated = [e for e in exchanges if e.tier == "generated"]
    questions = [e for e in exchanges if e.kind == "ai_question"]
    follow_ups = [e for e in exchanges if e.kind == "follow_up"]
    tiers = Counter(e.tier for e in exchanges)
    repeats = sum(
        1
        for a, b in itertools.pairwise(exchanges)
        if a.conversation == b.conversation and a.reply and a.reply == b.reply
    )
    with_ref = [e for e in generated if e.reference]
    uses = fallback_uses(exchanges)
    return {
        "turns": len(exchanges),
        "tiers": {t: round(tiers[t] / len(exchanges), 3) for t in sorted(tiers)},
        "generic_rate": round(generic_rate(replies), 3),
        "generic_rate_generated": round(generic_rate([e.reply for e in generated]), 3),
        "distinct_1": round(distinct_n(replies, 1), 3),
        "distinct_2": round(distinct_n(replies, 2), 3),
        "distinct_2_generated": round(distinct_n([e.reply for e in generated], 2), 3),
        "generated": len(generated),
        "salience_generated": round(
            salience([e.user for e in with_ref], [e.reply for e in with_ref]), 3
        ),
        "salience_references": round(
            salience([e.user for e in with_ref], [e.reference for e in with_ref]), 3
        ),
        "ai_questions": len(questions),
        "on_topic_rate": round(
            sum(mentions(e.reply, e.about) for e in questions) / max(1, len(questions)), 3
        ),
        "on_topic_references": round(
            sum(mentions(e.reference, e.about) for e in questions) / max(1, len(questions)), 3
        ),
        "follow_ups": len(follow_ups),
        "follow_ups_on_subject": on_subject_rate(follow_ups, "reply"),
        "follow_ups_on_subject_references": on_subject_rate(follow_ups, "reference"),
        "immediate_repeats": repeats,
        "stock_rate_generated": round(stock_rate([e.reply for e in generated]), 3),
        "stock_rate_references": round(stock_rate([e.reference for e in with_ref]), 3),
        "persona_rate_generated": round(persona_rate([e.reply for e in generated]), 3),
        "fallback_max_uses": max(uses.values(), default=0),
        "fallback_overused": {t: n for t, n in uses.most_common() if n > MAX_FALLBACK_USES},
        "latency_ms": {
            "p50": round(percentile([e.ms for e in exchanges], 50), 1),
            "p95": round(percentile([e.ms for e in exchanges], 95), 1),
            "p99": round(percentile([e.ms for e in exchanges], 99), 1),
            "generated_p50": round(percentile([e.ms for e in generated], 50), 1),
        },
    }


def report(played: list[Played]) -> dict[str, dict[str, Any]]:
    everything = [e for p in played for e in p.exchanges]
    return {p.name: figures(p.exchanges) for p in played} | {"all": figures(everything)}


def print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    rows = [
        ("turns", lambda f: str(f["turns"])),
        ("tier shares", lambda f: " ".join(f"{k[:3]} {v:.0%}" for k, v in f["tiers"].items())),
        # Below ~100 replies the ten most frequent texts are most of them: read it with n.
        (
            "generic rate, all / generated (n)",
            lambda f: "{:.1%} / {:.1%} ({})".format(
                f["generic_rate"], f["generic_rate_generated"], f["generated"]
            ),
        ),
        (
            "distinct-1 / distinct-2, all",
            lambda f: f"{f['distinct_1']:.2f} / {f['distinct_2']:.2f}",
        ),
        ("distinct-2, generated", lambda f: f"{f['distinct_2_generated']:.2f}"),
        (
            "salience generated (references)",
            lambda f: "{:.3f} ({:.3f})".format(f["salience_generated"], f["salience_references"]),
        ),
        (
            "AI questions on topic (references)",
            lambda f: "{:.0%} ({:.0%})".format(f["on_topic_rate"], f["on_topic_references"]),
        ),
        (
            "follow-ups on subject (references)",
            lambda f: (
                "-"
                if f["follow_ups_on_subject"] is None
                else "{:.0%} ({:.0%}) of {}".format(
                    f["follow_ups_on_subject"],
                    f["follow_ups_on_subject_references"],
                    f["follow_ups"],
                )
            ),
        ),
        ("immediate repeats", lambda f: str(f["immediate_repeats"])),
        (
            "stock phrases generated (references)",
            lambda f: "{:.1%} ({:.1%})".format(
                f["stock_rate_generated"], f["stock_rate_references"]
            ),
        ),
        ("persona breaks, generated", lambda f: f"{f['persona_rate_generated']:.1%}"),
        (
            f"fallback text max uses (>{MAX_FALLBACK_USES})",
            lambda f: "{} ({})".format(f["fallback_max_uses"], len(f["fallback_overused"])),
        ),
        (
            "latency p50 / p95 / p99 ms",
            lambda f: "{p50:.0f} / {p95:.0f} / {p99:.0f}".format(**f["latency_ms"]),
        ),
        ("generated reply p50 ms", lambda f: f"{f['latency_ms']['generated_p50']:.0f}"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'':{width}}  " + "  ".join(f"{n:>28}" for n in names))
    for label, cell in rows:
        print(f"{label:{width}}  " + "  ".join(f"{cell(results[n]):>28}" for n in names))
    print_overused(results)


def print_overused(results: dict[str, dict[str, Any]]) -> None:
    """Every fallback text sent more than :data:`MAX_FALLBACK_USES` times, per set."""
    for name, f in results.items():
        if f["fallback_overused"]:
            print(f"\nfallback texts used more than {MAX_FALLBACK_USES} times, {name}:")
            for text, n in f["fallback_overused"].items():
                print(f"  {n:3d}  {text}")


def write_transcript(played: list[Played], path: Path) -> None:
    lines = []
    for p in played:
        current = None
        for e in p.exchanges:
            if e.conversation != current:
                current = e.conversation
                lines.append(f"\n## {p.name}: {current}")
            lines += [f"user: {e.user}", f"bot [{e.tier}, {e.intent}]: {e.reply}"]
    path.write_text("\n".join(lines).lstrip() + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=Path, default=CONVERSATIONS)
    parser.add_argument(
        "--data-dir", type=Path, help="dialogue.yml and intents.yml (default: shipped)"
    )
    parser.add_argument("--nlu-model", type=Path, help="NLU model dir (default: models/nlu)")
    parser.add_argument("--generator-model", type=Path, help="default: models/generator")
    parser.add_argument("--transcript", type=Path, help="write every exchange to this file")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args()
    sets = load_sets(args.conversations)
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "THREADBOT_DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "THREADBOT_SECRET_KEY": secrets.token_hex(16),
            "THREADBOT_LOG_LEVEL": "WARNING",
        }
        for name, value in (("DATA_DIR", args.data_dir), ("NLU_MODEL", args.nlu_model),
                            ("GENERATOR_MODEL", args.generator_model)):  # fmt: skip
            if value is not None:
                env[f"THREADBOT_{name}"] = str(value.resolve())
        with Server(env, Path(folder) / "server.log") as server:
            played = play(server, sets)
    results = report(played)
    print_table(results)
    if args.transcript:
        write_transcript(played, args.transcript)
        print(f"transcript: {args.transcript}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
