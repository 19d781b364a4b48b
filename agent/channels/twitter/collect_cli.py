"""``threadbot generator collect``: a topic's threads from X, as a corpus to train on.

It talks to X, so it lives with the Twitter channel; the composition root (``agent.cli``)
hangs it under the ``generator`` group through the ``generator.collect`` entry point, so
``generator/`` never imports ``agent/``.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from pathlib import Path

import click
import tweepy

from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.cli import BadCredentials, bot_account_id, retry_policy, stop_on_signals
from agent.channels.twitter.client import CredentialsMissing, make_client
from agent.channels.twitter.collect import (
    PAGE_MIN,
    CollectOptions,
    Collector,
    check_since,
)
from agent.channels.twitter.retry import CredentialsRejected, Retrier, Stopped
from agent.channels.twitter.search_limits import MAX_QUERY_CHARS
from agent.context import AppContext, pass_app
from generator.collected import CollectedCorpus
from generator.errors import CorpusError

SINCE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]


def _query(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    value = " ".join(value.split())
    if not value or re.search(r"[\x00-\x1f\x7f]", value):
        raise click.BadParameter("give the words to search for, e.g. '\"machine learning\" OR ai'")
    return value


def _lang(_ctx: click.Context, _param: click.Parameter, value: str) -> str | None:
    if value and not re.fullmatch(r"[a-z]{2,3}", value):
        raise click.BadParameter(f"{value!r}: use a language code such as en, or '' for any")
    return value or None


@click.command("collect")
@click.option(
    "--query",
    required=True,
    callback=_query,
    help='X search query: words, "quoted phrases", OR, -word; retweets are always left out.',
)
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Threaded JSONL to append to; a second run adds new conversations only.",
)
@click.option(
    "--max-threads", type=click.IntRange(1), help="Stop after keeping this many new threads."
)
@click.option(
    "--max-tweets",
    default=5000,
    show_default=True,
    type=click.IntRange(PAGE_MIN),
    help="Read at most this many tweets in this run (X counts them against the monthly cap).",
)
@click.option(
    "--lang",
    default="en",
    show_default=True,
    callback=_lang,
    help="Only tweets in this language ('' for any).",
)
@click.option(
    "--since",
    type=click.DateTime(SINCE_FORMATS),
    help="Only tweets from this UTC date or time on (recent search covers the last 7 days).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def collect_command(
    app: AppContext,
    query: str,
    out_file: Path,
    max_threads: int | None,
    max_tweets: int,
    lang: str | None,
    since: datetime | None,
    quiet: bool,
) -> None:
    """Collect the threads people write about a topic from X's recent search (docs/generator.md).

    Finds tweets matching QUERY, reads each of their conversations, and appends one line per
    root-to-leaf reply chain to OUT (authors pseudonymised, text scrubbed), ready for
    `threadbot generator prepare` or `generator finetune`. Uses the mention loop's credentials,
    THREADBOT_TWITTER_API_BASE and its retry and rate-limit handling.
    """
    try:
        since = check_since(since) if since is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config = app.settings
    try:
        corpus = CollectedCorpus(out_file)
        api = TwitterApi(make_client(config))
    except CorpusError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from None
    except CredentialsMissing as exc:
        raise BadCredentials(str(exc)) from None
    stop = threading.Event()
    retrier = Retrier(retry_policy(config), stop)
    with stop_on_signals(stop):
        try:
            options = CollectOptions(
                query, max_tweets, max_threads, lang, since, bot_account_id(config, api, stop)
            )
            collector = Collector(api, retrier, corpus, options, progress=not quiet)
            if len(collector.search_query()) > MAX_QUERY_CHARS:
                raise click.BadParameter(
                    f"X takes queries of up to {MAX_QUERY_CHARS} characters", param_hint="--query"
                )
            report = collector.run()
        except CredentialsRejected as exc:
            raise BadCredentials(str(exc)) from None
        except Stopped:
            raise click.ClickException("stopped before the first search") from None
        except tweepy.HTTPException as exc:  # X refuses for good: a query it cannot parse, 403
            raise click.ClickException(
                f"X refused a request ({exc.response.status_code}): "
                f"{'; '.join(exc.api_messages) or 'no details'}; "
                f"what was kept so far is in {out_file}"
            ) from None
    for line in report.lines(lang):
        click.echo(line)
    click.echo(
        f"{out_file}: {corpus.lines} chains in all; next: threadbot generator prepare "
        f"--corpus {out_file} --out DIR"
    )
