"""Good-citizen limits: a global token bucket for posts and a per-user hourly reply cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.channels.twitter.models import DRY_RUN, PENDING, POSTED, OutboxReply


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; one token per post, shared by this process."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self) -> float:
        """Seconds until a token is free (0 when one is)."""
        with self.lock:
            self._refill()
            return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def try_take(self) -> bool:
        """Take a token if one is free."""
        with self.lock:
            self._refill()
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False

    def left(self) -> int:
        """Whole tokens available now (the admin page's "posts left")."""
        with self.lock:
            self._refill()
            return int(self.tokens)


def replies_in_last_hour(session: Session, author_id: str, now: datetime) -> int:
    """Replies queued, posted or dry-run to ``author_id`` in the hour before ``now``."""
    return (
        session.scalar(
            select(func.count(OutboxReply.id)).where(
                OutboxReply.author_id == author_id,
                OutboxReply.created_at > now - timedelta(hours=1),
                OutboxReply.status.in_((PENDING, POSTED, DRY_RUN)),
            )
        )
        or 0
    )
