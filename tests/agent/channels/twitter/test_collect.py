"""`generator collect` against the sandbox over HTTP: chains, drops, resume, budget and faults."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import make_client
from agent.channels.twitter.collect import CollectOptions, Collector, CollectReport
from agent.channels.twitter.retry import Retrier
from generator.collected import CollectedCorpus, sidecar_path
from generator.data import load_corpus
from tests.agent.channels.twitter.helpers import FAST_RETRY, settings_for
from tests.conftest import run_cli
from tests.hostile import NASTY
from xsandbox import SandboxServer, SandboxState

QUERY = "robot OR robots"


def populate(state: SandboxState) -> dict[str, str]:
    """Threads about robots (one branching, one with everything collect must drop) and others."""
    a = state.tweet("ann", "Do robots dream of electric sheep?")["id"]
    b = state.tweet("bob", "only the android ones &amp; toasters", int(a))["id"]
    state.tweet("ann", "that is a relief honestly", int(b))
    state.tweet("cat", "robots do not sleep, they idle", int(a))
    lunch = state.tweet("dan", "lunch was great today")["id"]
    state.tweet("eve", "did robots cook it? @dan", int(lunch))
    vac = state.tweet("ann", "my robot vacuum hates me")["id"]
    state.tweet("ada", "@ann robots have feelings too", int(vac))  # the bot itself
    state.tweet("fay", "mon robot aussi", int(vac), lang="fr")
    state.tweet("gus", "https://example.com/x @ann", int(vac))  # nothing left once scrubbed
    state.tweet("hal", "mine too, it eats socks", int(vac))
    state.tweet("ivy", "robots are neat")  # nobody answered
    state.retweet("joe", int(a))
    off = state.tweet("kim", "cats are great")["id"]
    state.tweet("lee", "yes they are", int(off))
    return {"dream": a, "lunch": lunch, "vacuum": vac}


@pytest.fixture
def robots(sandbox: SandboxServer) -> dict[str, str]:
    return populate(sandbox.state)


def collector(
    sandbox: SandboxServer,
    path: Path,
    stop: threading.Event | None = None,
    side_of: Any = None,
    **options: Any,
) -> Collector:
    api = TwitterApi(make_client(settings_for(sandbox)))
    values: dict[str, Any] = {
        "query": QUERY,
        "max_tweets": 10_000,
        "account_id": sandbox.state.bot_id,
    }
    return Collector(
        api,
        Retrier(FAST_RETRY, stop or threading.Event()),
        CollectedCorpus(path),
        CollectOptions(**(values | options)),
        progress=False,
        side_of=side_of,
    )


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def content(path: Path) -> list[tuple[str, tuple[str, ...], str]]:
    """What a run kept, without the pseudonyms (each corpus has its own salt)."""
    return sorted(
        (r["conversation_id"], tuple(r["turns"]), json.dumps(r["tweet_ids"])) for r in records(path)
    )


def test_collect_rebuilds_chains_and_drops_what_cannot_train(
    sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "robots.jsonl"
    report = collector(sandbox, out).run()
    lines = records(out)
    by_conversation: dict[str, list[list[str]]] = {}
    for rec in lines:
        by_conversation.setdefault(rec["conversation_id"], []).append(rec["turns"])
    assert by_conversation == {
        robots["dream"]: [
            ["Do robots dream of electric sheep?", "only the android ones & toasters",
             "that is a relief honestly"],
            ["Do robots dream of electric sheep?", "robots do not sleep, they idle"],
        ],
        robots["lunch"]: [["lunch was great today", "did robots cook it?"]],
        robots["vacuum"]: [["my robot vacuum hates me", "mine too, it eats socks"]],
    }  # fmt: skip
    assert {r["topic"] for r in lines} == {QUERY}
    dream = [r["id"] for r in lines if r["conversation_id"] == robots["dream"]]
    assert dream == [f"{robots['dream']}#0", f"{robots['dream']}#1"]
    # Authors are pseudonyms: stable within the corpus, never a user name or an account id.
    ann = {r["authors"][0] for r in lines if r["conversation_id"] != robots["lunch"]}
    assert len(ann) == 1 and re.fullmatch(r"u[0-9a-f]{12}", ann.pop())
    user_ids = set(sandbox.state.users)
    assert not {a for r in lines for a in r["authors"]} & (user_ids | {"ann", "bob"})
    assert (report.threads, report.chains, report.pairs, report.tweets) == (3, 4, 5, 8)
    assert report.dropped == {"bot": 1, "language": 1, "too_short": 1, "no_reply": 1}
    assert "kept 8 tweets in 3 threads: 4 chains, 5 reply pairs" in report.lines("en")[1]
    assert report.stopped == "no more matches" and report.read > 0


def test_threads_are_labelled_by_their_first_tweets_side(
    sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path
) -> None:
    read: list[str] = []

    def side_of(text: str) -> str:
        read.append(text)
        return "against" if "hates" in text else "favor" if "dream" in text else "none"

    out = tmp_path / "robots.jsonl"
    report = collector(sandbox, out, side_of=side_of).run()
    sides = {r["conversation_id"]: r["stance"] for r in records(out)}
    assert sides == {robots["dream"]: "favor", robots["lunch"]: "none", robots["vacuum"]: "against"}
    assert sorted(read) == sorted(
        ["Do robots dream of electric sheep?", "lunch was great today", "my robot vacuum hates me"]
    )  # one reading per thread: its root, never the replies
    assert report.sides == {"favor": 1, "against": 1, "none": 1}
    assert "stance of the threads kept (their first tweet's): favor 1 (33%)" in "\n".join(
        report.lines("en")
    )
    by_side = {c.id.split("#")[0]: c.stance for c in load_corpus(str(out))}
    assert by_side[robots["vacuum"]] == "against"


def test_a_second_run_adds_nothing_and_a_new_thread_only(
    sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "robots.jsonl"
    collector(sandbox, out).run()
    before = out.read_bytes()
    again = collector(sandbox, out).run()
    assert out.read_bytes() == before
    assert again.threads == 0 and again.looked_at == 0 and again.known == 4
    new = sandbox.state.tweet("max", "robots at the door")["id"]
    sandbox.state.tweet("nia", "let them in", int(new))
    third = collector(sandbox, out).run()
    assert third.threads == 1 and records(out)[-1]["conversation_id"] == new


def test_budget_and_max_threads_stop_early_and_resume_without_gaps(
    sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path
) -> None:
    whole = tmp_path / "whole.jsonl"
    collector(sandbox, whole).run()
    parts = tmp_path / "parts.jsonl"
    first = collector(sandbox, parts, max_threads=1).run()
    assert first.threads == 1 and first.stopped == "--max-threads 1 reached"
    spent = collector(sandbox, parts, max_tweets=15).run()
    assert spent.read <= 15 and "budget (15) spent" in spent.stopped
    collector(sandbox, parts).run()
    assert content(parts) == content(whole)


@pytest.mark.parametrize(
    "faults",
    [{"rate_limited": 0.5}, {"server_error": 0.5}, {"drop": 0.5}],
    ids=["429", "5xx", "dropped-connection"],
)
def test_faults_lose_nothing_and_duplicate_nothing(
    sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path, faults: dict[str, float]
) -> None:
    for i in range(40):  # batches that take two pages each: faults strike mid-batch too
        parent = int(sandbox.state.tweet(f"p{i}", f"robots thread {i}")["id"])
        for j in range(9):
            parent = int(sandbox.state.tweet(f"{'qp'[j % 2]}{i}", f"turn {j} of {i}", parent)["id"])
    clean = tmp_path / "clean.jsonl"
    collector(sandbox, clean).run()
    sandbox.state.faults.update(faults)
    faulty = tmp_path / "faulty.jsonl"
    report = collector(sandbox, faulty).run()
    injected = sum(v for k, v in sandbox.state.stats.items() if k.startswith("injected_"))
    assert injected >= 3 and report.stopped == "no more matches"
    assert content(faulty) == content(clean)
    assert len(set(content(faulty))) == len(content(faulty))


def test_hostile_unicode_is_cleaned_and_stored_safely(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = sandbox.state
    hostile = "robots " + "".join(NASTY)
    root = state.tweet("zed", hostile[:280])["id"]
    state.tweet("yan", "\u202erobots\u200b are \x00 fine \ud800", int(root))
    out = tmp_path / "hostile.jsonl"
    report = collector(sandbox, out).run()
    assert report.threads == 1
    (conv,) = load_corpus(out)  # valid UTF-8 JSON that prepare reads
    joined = "".join(conv.turns)
    assert not re.search("[\x00-\x1f\u200b\u202e\ud800-\udfff]", joined)
    assert conv.turns[1] == "robots are fine"
    assert "<script>" in joined  # text is data: kept as text, escaped only by whoever shows it


def cli_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv("THREADBOT_TWITTER_API_BASE", sandbox.url)
    monkeypatch.setenv("THREADBOT_TWITTER_BACKOFF_BASE_SECONDS", "0.002")
    monkeypatch.setenv("THREADBOT_TWITTER_RATE_LIMIT_WAIT_SECONDS", "0.05")


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer, fresh_settings: None
) -> Iterator[None]:
    cli_env(monkeypatch, sandbox)
    yield


def test_cli_reports_and_refuses_what_x_cannot_do(
    env: None, sandbox: SandboxServer, robots: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "robots.jsonl"
    code, text = run_cli("generator", "collect", "--query", QUERY, "--out", str(out), "--quiet")
    assert code == 0, text
    assert "kept 8 tweets in 3 threads" in text and "dropped 1 the bot's own tweets" in text
    # The shipped NLU reads stance: every thread is labelled, and the report gives the shares.
    assert "stance of the threads kept" in text
    assert {r["stance"] for r in records(out)} <= {"favor", "against", "none"}
    unlabelled = tmp_path / "plain.jsonl"
    code, text = run_cli(
        "generator", "collect", "--query", QUERY, "--out", str(unlabelled), "--quiet", "--no-stance"
    )
    assert code == 0 and "stance of" not in text
    assert not any("stance" in r for r in records(unlabelled))
    assert sidecar_path(out).exists()
    old = (datetime.now(UTC) - timedelta(days=9)).strftime("%Y-%m-%d")
    code, text = run_cli("generator", "collect", "--query", "x", "--out", str(out), "--since", old)
    assert code == 2 and "last 7 days" in text
    recent = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    code, text = run_cli(
        "generator", "collect", "--query", QUERY, "--out", str(out), "--since", recent, "--quiet"
    )
    assert code == 0 and "4 conversations already collected" in text
    code, text = run_cli("generator", "collect", "--query", '"open', "--out", str(out))
    assert code == 1 and "X refused a request (400)" in text and "quotes" in text
    code, text = run_cli("generator", "collect", "--query", "x", "--out", str(out), "--lang", "?")
    assert code == 2 and "language code" in text


def test_report_lines_name_every_reason() -> None:
    report = CollectReport(dropped={"retweet": 2, "duplicate_chain": 1})  # type: ignore[arg-type]
    text = "\n".join(report.lines("en"))
    assert "dropped 2 retweets" in text and "a chain already in the corpus" in text
