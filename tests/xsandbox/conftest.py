"""Sandbox fixtures: the same sandbox and tweepy client the Twitter loop's tests use."""

from tests.agent.channels.twitter.conftest import api, env, sandbox  # noqa: F401  (shared fixtures)
