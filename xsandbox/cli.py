"""``threadbot sandbox``: serve a local X API v2 and its page (an entry point, pyproject.toml)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click

from agent.channels.twitter.cli import stop_on_signals
from agent.context import AppContext, host_option, pass_app, port_option
from agent.settings import Settings
from generator.errors import GeneratorError
from generator.tweetlen import TWEET_LIMIT
from xsandbox.load import load_threads
from xsandbox.server import SandboxServer
from xsandbox.state import DEFAULT_LIMITS, DUPLICATE_RULES, SandboxState


def _pairs(values: tuple[str, ...], usage: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping; ``usage`` says the form when one is not."""
    pairs = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: use {usage}")
        pairs[name.strip()] = number.strip()
    return pairs


def _fault(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    return _pairs(values, "NAME=VALUE, e.g. server_error=0.1")


def _limit(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    usage = f"ENDPOINT=REQUESTS with ENDPOINT one of {', '.join(DEFAULT_LIMITS)}, e.g. mentions=1"
    limits = _pairs(values, usage)
    for name, number in limits.items():
        if name not in DEFAULT_LIMITS or not number.isdigit():
            raise click.BadParameter(f"{name}={number}: use {usage}")
    return {name: int(number) for name, number in limits.items()}


def _duration_option(flag: str, default: float, help: str) -> Any:
    """A positive time in the flag's unit (``-hours`` or ``-minutes``), passed on in seconds,
    the unit the sandbox state keeps, so the command does no arithmetic of its own."""
    stem, _, unit = flag.removeprefix("--").rpartition("-")
    per_unit = {"hours": 3600, "minutes": 60}[unit]
    return click.option(
        flag,
        f"{stem.replace('-', '_')}_seconds",
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=True,
        callback=lambda _ctx, _param, value: value * per_unit,
        help=help,
    )


@click.command("sandbox")
@host_option
@port_option(8025, lowest=0)
@click.option(
    "--bot-username", default="ada", show_default=True, help="The bot account's user name."
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    callback=_fault,
    help="Inject a fault, e.g. server_error=0.05 (repeatable; see docs/twitter.md).",
)
@click.option(
    "--duplicate-rule",
    type=click.Choice(DUPLICATE_RULES),
    default="account",
    show_default=True,
    help="X's duplicate-content rule: refuse a post repeating the account's recent text "
    "anywhere (as X does), only in the same thread, or never.",
)
@_duration_option("--duplicate-window-hours", 24.0, "How far back the duplicate rule looks.")
@click.option(
    "--daily-post-cap",
    type=click.IntRange(min=0),
    help="X's 24-hour post cap: past this many posts, 429 with x-user-limit-24hour-* headers "
    "(none by default).",
)
@_duration_option("--daily-cap-hours", 24.0, "How long until the post cap resets.")
@click.option(
    "--mention-timeline-cap",
    type=click.IntRange(min=1),
    help="Like X, return only this many most recent mentions from the mentions timeline "
    "(X: 800; none by default); older ones are left to recent search.",
)
@click.option(
    "--limit",
    "limits",
    multiple=True,
    callback=_limit,
    help="Requests an endpoint allows per window, e.g. mentions=1 for X's lowest tier "
    "(repeatable; endpoints: " + ", ".join(DEFAULT_LIMITS) + ").",
)
@_duration_option("--window-minutes", 15.0, "The rate-limit window.")
@click.option(
    "--no-search", is_flag=True, help="Refuse recent search with X's 403, as for a tier without it."
)
@click.option(
    "--load",
    "load_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Post the threads of this file first: threaded .jsonl[.gz], .tsv pairs, the Twitter "
    "corpus .txt or IBM customer-care .json (docs/twitter.md).",
)
@pass_app
def sandbox_command(
    app: AppContext,
    host: str,
    port: int,
    bot_username: str,
    faults: dict[str, str],
    duplicate_rule: str,
    duplicate_window_seconds: float,
    daily_post_cap: int | None,
    daily_cap_seconds: float,
    mention_timeline_cap: int | None,
    limits: dict[str, int],
    window_seconds: float,
    no_search: bool,
    load_file: Path | None,
) -> None:
    """Serve a local X API v2 sandbox and its web page until Ctrl-C."""
    state = sandbox_state(app.settings, bot_username)
    if load_file is not None:
        try:
            loaded = load_threads(state, load_file)
        except GeneratorError as exc:
            raise click.BadParameter(str(exc), param_hint="--load") from None
        click.echo(
            f"loaded {loaded.threads} threads ({loaded.tweets} tweets"
            + (f", {loaded.cut} cut to {TWEET_LIMIT} characters" if loaded.cut else "")
            + f") from {load_file}"
        )
    state.duplicate_rule = duplicate_rule
    state.duplicate_window_seconds = duplicate_window_seconds
    state.daily_post_cap, state.daily_cap_seconds = daily_post_cap, daily_cap_seconds
    state.mention_timeline_cap = mention_timeline_cap
    state.limits |= limits
    state.window_seconds, state.search_enabled = window_seconds, not no_search
    try:
        state.faults.update(faults)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    try:
        server = SandboxServer(state, host, port).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    stop = threading.Event()
    with stop_on_signals(stop):
        click.echo(f"X API sandbox on {server.url} (page: {server.url}/); bot @{bot_username}")
        click.echo(
            f"point the loop at it: THREADBOT_TWITTER_API_BASE={server.url} threadbot twitter run"
        )
        try:
            stop.wait()
        finally:
            server.stop()


def sandbox_state(settings: Settings, bot_username: str) -> SandboxState:
    """A sandbox world that accepts the configured credentials, or its built-in ones."""
    state = SandboxState(bot_username=bot_username)
    keys = {
        "consumer_key": settings.twitter_consumer_key,
        "consumer_secret": settings.twitter_consumer_secret,
        "access_token": settings.twitter_access_token,
        "access_token_secret": settings.twitter_access_token_secret,
    }
    if all(keys.values()):
        state.credentials = {k: v.get_secret_value() for k, v in keys.items() if v is not None}
    if settings.twitter_oauth2_user_token is not None:
        state.oauth2_token = settings.twitter_oauth2_user_token.get_secret_value()
    return state
