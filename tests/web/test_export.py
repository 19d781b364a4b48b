"""Exports under every filter: each alone, each with review=1, and pairs, as CSV and JSONL.

The expected turns come from a plain-Python reading of each filter over the seeded turns, so
the SQL is checked against an independent statement of what the filter means.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy.orm import Session

from agent.storage.review_models import Annotation
from tests.web.conftest import AdminActions, add_turn, days_ago


@dataclass(frozen=True)
class Seeded:
    """One seeded turn and the facts the filters look at."""

    user: str
    handle: str | None
    channel: str
    text: str
    reply: str | None
    intent: str | None
    confidence: float
    trusted: bool
    tier: str
    state: str
    at: datetime
    note: str | None = None  # None: not annotated; "good" / "bad" / "approved"

    @property
    def doubtful(self) -> bool:
        return self.tier in ("generated", "canned") or (not self.trusted and self.tier != "silent")


TURNS = [
    Seeded("ana", None, "web", "Hello there", "Hi!", "greet", 0.93, True, "scripted",
           "asked_topic", days_ago(20)),
    Seeded("ana", None, "web", "robots are neat", "they are", "share_interest", 0.62, False,
           "generated", "chatting", days_ago(9)),
    Seeded("b0b", "bobby", "twitter", "weather tomorrow?", "not my field", "out_of_scope", 0.31,
           False, "canned", "asked_topic", days_ago(6), "bad"),
    Seeded("b0b", "bobby", "twitter", "hello again", "Hi again!", "greet", 0.85, True,
           "scripted", "asked_topic", days_ago(3), "approved"),
    Seeded("cy", "cyan", "cli", "zzz", "hmm", None, 0.0, False, "generated", "idle",
           days_ago(2), "good"),
    Seeded("dee", None, "twitter", "stop", None, "stop", 0.4, False, "silent", "idle",
           days_ago(1)),
    Seeded("eve", "evelyn", "web", "HELLO robots", "hey", "greet", 0.55, True, "canned",
           "chatting", days_ago(0.1)),
]  # fmt: skip

FROM, TO = days_ago(7).date(), days_ago(2.5).date()


def _day(t: Seeded) -> date:
    return t.at.date()


# Each filter value and what it means, in Python.
Test = Callable[[Seeded], bool]
FILTERS: list[tuple[str, str, Test]] = [
    ("q", "hello", lambda t: "hello" in (t.text + " " + (t.reply or "")).lower()),
    ("user", "bob", lambda t: "bob" in t.user or "bob" in (t.handle or "")),
    ("channel", "twitter", lambda t: t.channel == "twitter"),
    ("intent", "greet", lambda t: t.intent == "greet"),
    ("state", "chatting", lambda t: t.state == "chatting"),
    ("tier", "canned", lambda t: t.tier == "canned"),
    ("band", "medium", lambda t: 0.5 <= t.confidence < 0.8),
    ("date_from", FROM.isoformat(), lambda t: _day(t) >= FROM),
    ("date_to", TO.isoformat(), lambda t: _day(t) <= TO),
    ("annotated", "yes", lambda t: t.note is not None),
    ("annotated", "no", lambda t: t.note is None),
    ("annotated", "approved", lambda t: t.note == "approved"),
]
PAIRS = [
    ("q", "user"),
    ("channel", "tier"),
    ("intent", "band"),
    ("date_from", "date_to"),
    ("state", "annotated"),
]


def review(t: Seeded) -> bool:
    return t.doubtful and t.note is None


def _cases() -> list[tuple[dict[str, str], Test]]:
    """No filter, review=1, each filter value alone and with review=1, and a few pairs."""
    cases: list[tuple[dict[str, str], Test]] = [({}, lambda t: True), ({"review": "1"}, review)]
    for name, value, test in FILTERS:
        cases.append(({name: value}, test))
        cases.append(({name: value, "review": "1"}, lambda t, test=test: test(t) and review(t)))
    first_of = {name: (value, test) for name, value, test in reversed(FILTERS)}
    for a, b in PAIRS:
        (va, ta), (vb, tb) = first_of[a], first_of[b]
        cases.append(({a: va, b: vb}, lambda t, ta=ta, tb=tb: ta(t) and tb(t)))
    return cases


def _seed(session: Session) -> list[int]:
    ids = []
    for t in TURNS:
        turn = add_turn(
            session,
            t.user,
            t.text,
            channel=t.channel,
            handle=t.handle,
            reply=t.reply,
            intent=t.intent,
            confidence=t.confidence,
            trusted=t.trusted,
            tier=t.tier,
            state_after=t.state,
            at=t.at,
        )
        if t.note is not None:
            verdict = None if t.note == "approved" else t.note
            session.add(Annotation(turn_id=turn.id, verdict=verdict, approved=t.note == "approved"))
        ids.append(turn.id)
    session.commit()
    return ids


def _exported(admin: AdminActions, fmt: str, args: dict[str, str]) -> list[int]:
    response = admin.client.get(f"/admin/turns/export.{fmt}?{urlencode(args)}")
    assert response.status_code == 200, (fmt, args, response.text[:300])
    if fmt == "csv":
        return [int(row["turn_id"]) for row in csv.DictReader(io.StringIO(response.text))]
    return [json.loads(line)["turn_id"] for line in response.text.splitlines()]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_filter_alone_with_review_and_in_pairs(any_admin: AdminActions, fmt: str) -> None:
    with any_admin.app.extensions["threadbot"].sessions() as session:
        ids = _seed(session)
    cases = _cases()
    assert len(cases) >= 30
    for args, test in cases:
        expected = [i for i, t in zip(ids, TURNS, strict=True) if test(t)]
        assert _exported(any_admin, fmt, args) == expected, args
