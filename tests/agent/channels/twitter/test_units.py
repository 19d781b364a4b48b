"""Pieces that need no network: the token bucket, the session's URL rewrite, the lock key."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from agent.channels.twitter.client import ApiSession
from agent.channels.twitter.limits import TokenBucket
from agent.channels.twitter.lock import lock_key


def test_token_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    assert bucket.delay() == 0.5
    now[0] += 0.5
    assert bucket.try_take() and not bucket.try_take()
    now[0] += 100
    assert bucket.left() == 3  # never more than the burst


def test_api_session_sends_tweepys_calls_to_the_base_with_a_timeout() -> None:
    """A listener that never answers: the call must reach it, and give up after the timeout."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        session = ApiSession(f"http://127.0.0.1:{port}/", timeout=0.2)
        started = time.monotonic()
        # A read timeout (not a connection error) proves the request went to our listener.
        with pytest.raises(requests.ReadTimeout):
            session.request("GET", "https://api.twitter.com/2/users/me")
        assert time.monotonic() - started < 2


def test_lock_key_is_stable_and_fits_a_bigint() -> None:
    assert lock_key("42") == lock_key("42") != lock_key("43")
    assert -(2**63) <= lock_key("42") < 2**63
