"""A ``tweepy.Client`` for X or the sandbox: credentials from settings, base URL and timeout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
import tweepy

from agent.channels.twitter.pacing import Pacer
from agent.settings import LOCAL_X_CREDENTIALS, Settings

# tweepy hard-codes this host; ApiSession swaps it for the configured base.
TWEEPY_HOST = "https://api.twitter.com"
REAL_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class CredentialsMissing(RuntimeError):
    """No usable X credentials are configured; the message says which variables to set."""


class ApiSession(requests.Session):
    """The ``requests.Session`` tweepy documents as ``Client.session``, aimed at ``base``.

    tweepy passes no timeout, so without one a stalled connection would hang the loop forever.
    """

    def __init__(self, base: str, timeout: float, pacer: Pacer) -> None:
        super().__init__()
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.pacer = pacer

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST):
            # Rewritten before OAuth 1.0a signs the request, so the signature covers the real URL.
            url = self.base + url.removeprefix(TWEEPY_HOST)
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(method, url, *args, **kwargs)
        self.pacer.observe(response)  # tweepy keeps only the body: the budget is read here
        return response


@dataclass(frozen=True)
class Connection:
    """A configured client, whether its calls use OAuth 1.0a user context, and the rate-limit
    budgets its answers reported."""

    client: tweepy.Client
    user_auth: bool
    pacer: Pacer


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def make_client(settings: Settings) -> Connection:
    """A client for ``settings.twitter_api_base``; the sandbox gets its own keys when none are set.

    :raise CredentialsMissing: talking to X without a full set of credentials.
    """
    oauth1 = {
        "consumer_key": _secret(settings.twitter_consumer_key),
        "consumer_secret": _secret(settings.twitter_consumer_secret),
        "access_token": _secret(settings.twitter_access_token),
        "access_token_secret": _secret(settings.twitter_access_token_secret),
    }
    token = _secret(settings.twitter_oauth2_user_token)
    base = settings.twitter_api_base
    if token is None and not all(oauth1.values()):
        if any(oauth1.values()) or base.startswith(REAL_HOSTS):
            missing = [f"THREADBOT_TWITTER_{k.upper()}" for k, v in oauth1.items() if not v]
            raise CredentialsMissing(
                "no complete X credentials: set " + ", ".join(missing) + " (OAuth 1.0a user "
                "context) or THREADBOT_TWITTER_OAUTH2_USER_TOKEN; see README, 'Twitter'"
            )
        oauth1 = dict(LOCAL_X_CREDENTIALS)  # a local sandbox: its built-in keys
    # wait_on_rate_limit stays off: tweepy would spin on a 429 without a reset header.
    if token is not None:
        client = tweepy.Client(bearer_token=token, return_type=dict)
    else:
        client = tweepy.Client(**oauth1, return_type=dict)
    pacer = Pacer()
    client.session = ApiSession(base, settings.twitter_request_timeout_seconds, pacer)
    # At DEBUG these print request headers and OAuth signing input: secrets must never be logged.
    for name in ("tweepy", "oauthlib", "requests_oauthlib"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
    return Connection(client, user_auth=token is None, pacer=pacer)
