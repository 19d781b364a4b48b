"""Prometheus text exposition of the bot's health, computed from the database on each scrape.

Counting in the database, not in process memory, gives the same answer from every gunicorn
worker and every instance behind a load balancer, and survives restarts. Each scrape runs a few
aggregate queries over `turns`; at a 15-60 s scrape interval that is negligible next to traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, case, func, select

from agent.channels.twitter.health import loop_health
from agent.storage.models import Conversation, Turn

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Turn latencies in milliseconds: scripted turns land in the first buckets, generated ones later.
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


def _escape(value: object) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(values: dict[str, object]) -> str:
    if not values:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in values.items()) + "}"


class _Exposition:
    """Collects metric families and renders them in the text format, HELP and TYPE first."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: Iterable[tuple[dict[str, object], float]],
    ) -> None:
        # Text format 0.0.4: HELP and TYPE name the samples exactly, _total included.
        name = f"{name}_total" if kind == "counter" else name
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def raw(self, line: str) -> None:
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _turns(out: _Exposition, connection: Connection) -> None:
    rows = connection.execute(
        select(Turn.channel, Turn.tier, func.count()).group_by(Turn.channel, Turn.tier)
    ).all()
    out.family(
        "threadbot_turns",
        "counter",
        "Turns answered, by channel and by the tier that answered (scripted, generated, canned).",
        (({"channel": channel, "tier": tier}, count) for channel, tier, count in rows),
    )
    buckets = [
        func.coalesce(func.sum(case((Turn.latency_ms <= bound, 1), else_=0)), 0)
        for bound in LATENCY_BUCKETS_MS
    ]
    row = connection.execute(
        select(func.count(), func.coalesce(func.sum(Turn.latency_ms), 0.0), *buckets)
    ).one()
    count, total, *cumulative = row
    out.raw("# HELP threadbot_turn_latency_ms Time to answer a turn, in milliseconds.")
    out.raw("# TYPE threadbot_turn_latency_ms histogram")
    for bound, value in zip(LATENCY_BUCKETS_MS, cumulative, strict=True):
        out.raw(f'threadbot_turn_latency_ms_bucket{{le="{bound}"}} {_number(value)}')
    out.raw(f'threadbot_turn_latency_ms_bucket{{le="+Inf"}} {_number(count)}')
    out.raw(f"threadbot_turn_latency_ms_sum {_number(total)}")
    out.raw(f"threadbot_turn_latency_ms_count {_number(count)}")
    conversations = connection.execute(select(func.count()).select_from(Conversation)).scalar_one()
    out.family(
        "threadbot_conversations", "gauge", "Conversations in the database.", [({}, conversations)]
    )


def _twitter(out: _Exposition, connection: Connection, now: datetime) -> None:
    """Loop health from the Twitter channel's tables, when this database has them."""
    health = loop_health(connection)
    if not health.configured:
        return
    for name, counts, help_text in (
        ("threadbot_twitter_inbox", health.inbox, "Mentions in the inbox, by status."),
        ("threadbot_twitter_outbox", health.outbox, "Replies in the outbox, by status."),
    ):
        out.family(name, "gauge", help_text, (({"status": s}, n) for s, n in counts.items()))
    out.family(
        "threadbot_twitter_seconds_since_poll",
        "gauge",
        "Seconds since the mention loop last polled X; alert when it grows past a few polls.",
        (
            ({"account": account}, round((now - at).total_seconds(), 3))
            for account, at in health.last_polls.items()
        ),
    )
    out.family(
        "threadbot_twitter_timeline_gaps",
        "gauge",
        "Gaps the mentions timeline's 800 cap left: found, and closed through recent search.",
        [({"state": "found"}, health.gaps_found), ({"state": "closed"}, health.gaps_closed)],
    )
    out.family(
        "threadbot_twitter_posting_paused_seconds",
        "gauge",
        "Seconds until posting resumes after X's post cap was spent; 0 while posting.",
        (
            ({"account": account}, round(max(0.0, (until - now).total_seconds()), 3))
            for account, (until, _) in health.pauses.items()
        ),
    )


def render(engine: Engine, now: datetime | None = None) -> str:
    """The whole exposition; ``threadbot_up`` is 0 and nothing else is sent if the DB fails."""
    out = _Exposition()
    try:
        with engine.connect() as connection:
            _turns(out, connection)
            _twitter(out, connection, now or datetime.now(UTC))
    except Exception:  # a scrape must answer even when the database does not
        fallback = _Exposition()
        fallback.family("threadbot_up", "gauge", "1 when the database answered.", [({}, 0)])
        return fallback.text()
    out.family("threadbot_up", "gauge", "1 when the database answered.", [({}, 1)])
    return out.text()
