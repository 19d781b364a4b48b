"""``threadbot generator collect``: a topic's threads from X, as a corpus to train on.

It talks to X, so it lives with the Twitter channel; the composition root (``agent.cli``)
hangs it under the ``generator`` group through the ``generator.collect`` entry point, so
``generator/`` never imports ``agent/``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
import tweepy

import nlu
from agent.channels.twitter.api import TwitterApi
from agent.channels.twitter.cli import BadCredentials, bot_account_id, retry_policy, stop_on_signals
from agent.channels.twitter.client import CredentialsMissing, make_client
from agent.channels.twitter.collect import (
    PAGE_MIN,
    CollectOptions,
    Collector,
    CollectReport,
    check_since,
)
from agent.channels.twitter.retry import CredentialsRejected, Retrier, Stopped
from agent.channels.twitter.search_limits import MAX_QUERY_CHARS
from agent.context import AppContext, pass_app
from generator.collected import CollectedCorpus
from generator.errors import CorpusError


def _stance_reader(app: AppContext) -> Callable[[str], str] | None:
    """The NLU model's stance reading (the model alone: collecting needs no generator), or
    None, said once, when the model has no stance classifier."""
    try:
        model = nlu.load(app.settings.nlu_model)
    except nlu.NLUError as exc:
        raise click.ClickException(f"{exc}; or collect with --no-stance") from None
    if model.reads_stance:
        return model.side_of
    click.echo(
        f"threads are not labelled by stance: the NLU model ({app.settings.nlu_model}) has no "
        "stance classifier (docs/nlu.md, 'Stance')",
        err=True,
    )
    return None


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
@click.option(
    "--stance/--no-stance",
    "label_stance",
    default=True,
    show_default=True,
    help="Label each thread with the side its first tweet takes (the NLU model's stance "
    "classifier), so finetune and index can select by side.",
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
    label_stance: bool,
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
    side_of = _stance_reader(app) if label_stance else None
    stop = threading.Event()
    retrier = Retrier(retry_policy(config), stop)
    with stop_on_signals(stop):
        try:
            options = CollectOptions(
                query, max_tweets, max_threads, lang, since, bot_account_id(config, api, stop)
            )
            collector = Collector(api, retrier, corpus, options, not quiet, side_of)
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
    _say_what_was_kept(report, lang, corpus, out_file)


def _say_what_was_kept(
    report: CollectReport, lang: str | None, corpus: CollectedCorpus, out_file: Path
) -> None:
    for line in report.lines(lang):
        click.echo(line)
    click.echo(
        f"{out_file}: {corpus.lines} chains in all; next: threadbot generator prepare "
        f"--corpus {out_file} --out DIR"
    )
