"""Pieces that need no network: the token bucket, the session's URL rewrite, the lock key."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from agent.channels.twitter.client import ApiSession
from agent.channels.twitter.limits import TokenBucket
from agent.channels.twitter.lock import lock_key
from agent.channels.twitter.pacing import MENTIONS, Budget, Pacer, endpoint


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
        session = ApiSession(f"http://127.0.0.1:{port}/", timeout=0.2, pacer=Pacer())
        started = time.monotonic()
        # A read timeout (not a connection error) proves the request went to our listener.
        with pytest.raises(requests.ReadTimeout):
            session.request("GET", "https://api.twitter.com/2/users/me")
        assert time.monotonic() - started < 2


def test_lock_key_is_stable_and_fits_a_bigint() -> None:
    assert lock_key("42") == lock_key("42") != lock_key("43")
    assert -(2**63) <= lock_key("42") < 2**63


def test_pacing_spreads_what_is_left_of_the_window() -> None:
    clock = [1000.0]
    pacer = Pacer(clock=lambda: clock[0])
    assert pacer.wait(MENTIONS) == 0.0  # nothing reported yet
    answer = requests.Response()
    answer.request = requests.Request("GET", "http://x/2/users/42/mentions").prepare()
    answer.url = answer.request.url or ""
    answer.headers.update(
        {"x-rate-limit-limit": "10", "x-rate-limit-remaining": "4", "x-rate-limit-reset": "1100"}
    )
    pacer.observe(answer)
    assert pacer.wait(MENTIONS) == pytest.approx(25.0)  # 100 s left over 4 requests
    answer.headers["x-rate-limit-remaining"] = "0"
    pacer.observe(answer)
    assert pacer.wait(MENTIONS) == pytest.approx(101.0)  # until just past the reset
    clock[0] = 1200.0
    assert pacer.wait(MENTIONS) == 0.0  # the window has reset
    answer.headers["x-rate-limit-reset"] = "soon"
    pacer.observe(answer)  # a malformed header changes nothing
    assert pacer.budget(MENTIONS) == Budget(10, 0, 1100.0)
    assert endpoint("post", "https://api.x.com/2/tweets") == "POST /2/tweets"
