"""Pacing from X's rate-limit headers: the loop polls no faster than the endpoint's window
allows, so a low tier (mentions: one request per 15 minutes) never meets a 429 in steady state.

Every X answer, successful or not, carries ``x-rate-limit-limit``, ``-remaining`` and ``-reset``
for its endpoint. tweepy returns only the body (``return_type=dict``), so the API session
hands each response to a :class:`Pacer`, which keeps the latest budget per endpoint.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import requests

MENTIONS = "GET /2/users/:id/mentions"
_ID = re.compile(r"(?<=.)/\d+(?=/|$)")  # an id in the path, not the API version ("/2")


@dataclass(frozen=True)
class Budget:
    """An endpoint's window as X last reported it."""

    limit: int
    remaining: int
    reset: float  # epoch seconds


def endpoint(method: str, url: str) -> str:
    """``GET /2/users/:id/mentions`` for any user id: the key budgets are kept under."""
    return f"{method.upper()} {_ID.sub('/:id', urlparse(url).path)}"


class Pacer:
    """The latest budget per endpoint, and how long to wait before the next request."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._budgets: dict[str, Budget] = {}
        self._lock = threading.Lock()

    def observe(self, response: requests.Response) -> None:
        """Keep the budget a response reports (responses without the headers change nothing)."""
        headers = response.headers
        values = [headers.get(f"x-rate-limit-{n}", "") for n in ("limit", "remaining", "reset")]
        if not all(v.isdigit() for v in values):
            return
        limit, remaining, reset = map(int, values)
        with self._lock:
            self._budgets[endpoint(response.request.method or "GET", response.url)] = Budget(
                limit, remaining, float(reset)
            )

    def budget(self, key: str) -> Budget | None:
        with self._lock:
            return self._budgets.get(key)

    def wait(self, key: str) -> float:
        """Seconds to wait before the next request to ``key`` so the window is never spent
        early: none while the window has room to spare, else what is left of the window
        spread over the requests left in it (all of it when none are left)."""
        found = self.budget(key)
        if found is None:
            return 0.0
        left = found.reset - self.clock()
        if left <= 0:
            return 0.0
        return left / found.remaining if found.remaining else left + 1.0
