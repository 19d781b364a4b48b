"""``threadbot twitter run`` (the mention loop) and ``threadbot sandbox`` (a local X API)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
import tweepy

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import CredentialsMissing, make_client
from agent.channels.twitter.loop import LoopConfig, MentionLoop
from agent.channels.twitter.retry import CredentialsRejected, Retrier, RetryPolicy, Stopped
from agent.channels.twitter.sandbox import SandboxServer, SandboxState
from agent.channels.twitter.sandbox.load import load_threads
from agent.channels.twitter.sandbox.state import DUPLICATE_RULES
from agent.context import AppContext, host_option, pass_app, port_option
from agent.settings import Settings
from generator.errors import GeneratorError
from generator.tweetlen import TWEET_LIMIT

log = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    """Backoff and rate-limit waits from THREADBOT_TWITTER_* settings (the loop's and collect's)."""
    return RetryPolicy(
        backoff_base=settings.twitter_backoff_base_seconds,
        backoff_max=settings.twitter_backoff_max_seconds,
        rate_limit_wait=settings.twitter_rate_limit_wait_seconds,
    )


def loop_config(
    settings: Settings, account_id: str, *, dry_run: bool, backfill: bool
) -> LoopConfig:
    """The loop's config from THREADBOT_TWITTER_* settings."""
    return LoopConfig(
        account_id=account_id,
        poll_interval=settings.twitter_poll_interval_seconds,
        retry=retry_policy(settings),
        user_replies_per_hour=settings.twitter_user_replies_per_hour,
        posts_per_hour=settings.twitter_posts_per_hour,
        post_burst=settings.twitter_post_burst,
        reconcile_grace=settings.twitter_reconcile_grace_seconds,
        duplicate_window_hours=settings.twitter_duplicate_window_hours,
        dry_run=dry_run,
        backfill=backfill,
    )


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop`` (the loop ends after the mention in hand);
    the handlers they replaced come back on the way out."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received: finishing the current mention, then stopping", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class BadCredentials(click.ClickException):
    """Missing or rejected X credentials: exit 78 (EX_CONFIG), which systemd won't restart."""

    exit_code = 78


@click.group("twitter")
def twitter() -> None:
    """The Twitter (X) channel: answer mentions in their threads (docs/twitter.md)."""


@twitter.command("run")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read mentions and save turns, but log replies instead of posting.",
)
@click.option(
    "--backfill", is_flag=True, help="On first start, also answer mentions older than start-up."
)
@click.option("--once", is_flag=True, help="Do one poll-answer-post pass, then exit.")
@pass_app
def run_command(app: AppContext, dry_run: bool, backfill: bool, once: bool) -> None:
    """Poll mentions, answer each exactly once in its thread, until SIGTERM or Ctrl-C."""
    config = app.settings
    try:
        api = TwitterApi(make_client(config))
    except CredentialsMissing as exc:
        raise BadCredentials(str(exc)) from None
    stop = threading.Event()
    bot = app.agent(watch_models=True)  # a promoted model is swapped in without a restart
    with stop_on_signals(stop):
        try:
            loop = MentionLoop(
                bot,
                app.engine,
                api,
                loop_config(
                    config, bot_account_id(config, api, stop), dry_run=dry_run, backfill=backfill
                ),
                stop,
            )
            if once:
                loop.recover()
                try:
                    loop.run_once()
                finally:
                    loop.close()
            else:
                loop.run()
        except CredentialsRejected as exc:
            raise BadCredentials(str(exc)) from None
        except Stopped:
            click.echo("stopped before the first poll")
            return
        except tweepy.HTTPException as exc:  # a read X refuses for good: 400, 403, 404
            raise click.ClickException(
                f"X refused a request ({exc.response.status_code}): "
                f"{'; '.join(exc.api_messages) or 'no details'}"
            ) from None
    click.echo(f"stopped: {loop.stats}")


def bot_account_id(config: Settings, api: TwitterApi, stop: threading.Event) -> str:
    """The bot's user id from settings, or from GET /2/users/me (retried like any call)."""
    if config.twitter_bot_user_id:
        return config.twitter_bot_user_id
    retrier = Retrier(RetryPolicy(config.twitter_backoff_base_seconds), stop)
    account_id, username = retrier.call("users/me", api.me)
    log.info("posting as @%s (%s) via %s", username, account_id, config.twitter_api_base)
    return account_id


def _fault(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    faults = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: use NAME=VALUE, e.g. server_error=0.1")
        faults[name.strip()] = number.strip()
    return faults


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
@click.option(
    "--duplicate-window-hours",
    type=click.FloatRange(min=0, min_open=True),
    default=24.0,
    show_default=True,
    help="How far back the duplicate rule looks.",
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
    duplicate_window_hours: float,
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
    state.duplicate_window_seconds = duplicate_window_hours * 3600
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
