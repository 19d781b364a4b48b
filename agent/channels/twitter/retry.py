"""What to do after a failed API call: wait for the rate-limit reset, back off, or give up."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import tweepy

log = logging.getLogger(__name__)
T = TypeVar("T")
# A reset further away than one 15-minute window plus slack is a bad header, not a plan.
MAX_RESET_WAIT = 960.0


class CredentialsRejected(RuntimeError):
    """X answered 401: the keys are wrong, revoked, or lack read-and-write permission."""


class Stopped(Exception):
    """A stop was requested while waiting; the caller leaves its work for the next run."""


TRANSIENT = (
    tweepy.TwitterServerError,
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff and rate-limit waits, from settings (tests shrink them to milliseconds)."""

    backoff_base: float = 1.0
    backoff_max: float = 300.0
    rate_limit_wait: float = 60.0


class Retrier:
    """Runs API calls until they succeed, sleeping (interruptibly) between tries."""

    def __init__(
        self, policy: RetryPolicy, stop: threading.Event, rng: random.Random | None = None
    ) -> None:
        self.policy = policy
        self.stop = stop
        self.rng = rng or random.Random()
        self.waited = 0.0  # total seconds spent waiting, for logs and tests

    def backoff(self, attempt: int) -> float:
        """Half-jitter: uniform in [cap/2, cap], so clients spread out yet never retry at once."""
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** min(attempt, 30))
        return self.rng.uniform(ceiling / 2, ceiling)

    def rate_limit_delay(self, exc: tweepy.TooManyRequests) -> float:
        """Seconds until the window resets (plus a little for clock skew), or the default."""
        if exc.reset_time is None:
            return self.policy.rate_limit_wait
        until = exc.reset_time - time.time()
        return min(max(until, 0.0) + min(1.0, self.policy.backoff_base), MAX_RESET_WAIT)

    def delay_for(self, exc: Exception, attempt: int) -> float | None:
        """How long to wait before trying again, or None when retrying cannot help."""
        if isinstance(exc, tweepy.Unauthorized):
            raise CredentialsRejected(
                "X rejected the credentials (401): check THREADBOT_TWITTER_* keys and tokens, "
                "and that the app has read and write permission"
            ) from None
        if isinstance(exc, tweepy.TooManyRequests):
            return self.rate_limit_delay(exc)
        if isinstance(exc, TRANSIENT):
            return self.backoff(attempt)
        return None

    def sleep(self, seconds: float) -> None:
        """Wait, waking at once on stop; raise ``Stopped`` if a stop was requested."""
        self.waited += seconds
        if self.stop.wait(seconds):
            raise Stopped

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``, retried on 429 and transient failures; other errors propagate."""
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return fn()
            except Exception as exc:
                delay = self.delay_for(exc, attempt)
                if delay is None:
                    raise
                attempt += 1
                log.warning("%s failed (%s); retrying in %.2f s", what, _brief(exc), delay)
                self.sleep(delay)


def _brief(exc: Exception) -> str:
    """One line about a failure, never its request (which could carry an auth header)."""
    if isinstance(exc, tweepy.HTTPException):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
