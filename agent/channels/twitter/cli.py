"""``threadbot twitter run``: the mention loop (``threadbot sandbox`` lives in xsandbox/cli.py)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from types import FrameType

import click
import tweepy

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.client import CredentialsMissing, make_client
from agent.channels.twitter.loop import LoopConfig, MentionLoop
from agent.channels.twitter.retry import CredentialsRejected, Retrier, RetryPolicy, Stopped
from agent.context import AppContext, pass_app
from agent.settings import Settings

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
        max_reply_age=(
            timedelta(hours=settings.twitter_max_reply_age_hours)
            if settings.twitter_max_reply_age_hours
            else None
        ),
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
