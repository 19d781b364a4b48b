"""The ``threadbot`` command line: validate, graph, db, chat, say; nlu and generator attach here."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from functools import cache
from pathlib import Path

import click

from agent.channels.twitter.cli import sandbox_command, twitter
from agent.core.machine import mermaid_graph
from agent.core.messages import Incoming, MessageRejected, Reply
from agent.core.pipeline import Agent
from agent.core.runtime import build_agent, load_checked_script
from agent.core.script import ScriptError, variant_warnings
from agent.mlops.retrain.cli import GROUPS as retrain_groups
from agent.ops import cli as ops_cli
from agent.ops.logs import configure_logging
from agent.ops.supervisor import plan, supervise
from agent.settings import Settings, SettingsError, get_settings
from agent.storage import migrate
from agent.storage.db import make_engine
from generator.cli import generator as generator_group
from nlu import DataError, NLUError
from nlu.cli import nlu as nlu_group
from web.cli import admin_group, serve_command


def settings() -> Settings:
    """Settings, with a bad environment turned into a one-line CLI error."""
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@cache
def agent(watch_models: bool = False) -> Agent:
    """The agent, built once per command; known start-up failures become readable errors.

    Long-running commands pass ``watch_models`` to pick up newly promoted models as they come.
    """
    try:
        return build_agent(settings(), watch_models=watch_models)
    except (ScriptError, DataError) as exc:
        raise click.ClickException(f"the bot's files have problems:\n{exc}") from None
    except (migrate.SchemaOutOfDate, NLUError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="threadbot")
def cli() -> None:
    """threadbot: a state-machine chatbot for Twitter threads.

    Settings come from THREADBOT_* environment variables or a .env file (see README).
    """
    configure_logging(settings().log_level, settings().log_format)
    # transitions logs every callback and alembic every connection at INFO: noise for a person.
    for chatty in ("transitions", "alembic"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))


cli.add_command(nlu_group)
cli.add_command(generator_group)
cli.add_command(serve_command)
cli.add_command(admin_group)
cli.add_command(twitter)
cli.add_command(sandbox_command)
cli.add_command(ops_cli.doctor)
cli.add_command(ops_cli.store_group)
cli.add_command(ops_cli.ops_group)
for group in retrain_groups:  # retrain, models, users (docs/retraining.md)
    cli.add_command(group)


@cli.command("validate")
def validate_command() -> None:
    """Check the dialogue script against the intents file and report every problem."""
    config = settings()
    try:
        script = load_checked_script(config)
    except (ScriptError, DataError) as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) found") from None
    warnings = variant_warnings(script, config.min_reply_variants)
    for warning in warnings:
        click.echo(str(warning), err=True)
    click.echo(
        f"{config.dialogue_path}: ok ({len(script.states)} states, "
        f"{len(script.transitions)} transitions, {len(script.triggers)} intents used"
        + (f"; {len(warnings)} warning(s))" if warnings else ")")
    )


@cli.command("graph")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the Mermaid diagram here instead of printing it.",
)
def graph_command(out: Path | None) -> None:
    """Export the dialogue script as a Mermaid state diagram."""
    try:
        text = mermaid_graph(load_checked_script(settings()))
    except (ScriptError, DataError) as exc:
        raise click.ClickException(f"the bot's files have problems:\n{exc}") from None
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@cli.group("db")
def db_group() -> None:
    """Manage the database schema (the same migrations as `alembic upgrade head`)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    engine = make_engine(settings().database_url)
    migrate.upgrade(engine, revision)
    click.echo(f"database at {', '.join(sorted(migrate.current_revisions(engine))) or 'base'}")


@db_group.command("downgrade")
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading can drop tables and their data. Continue?")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    engine = make_engine(settings().database_url)
    migrate.downgrade(engine, revision)
    click.echo(f"database at {', '.join(sorted(migrate.current_revisions(engine))) or 'base'}")


@db_group.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is the newest."""
    engine = make_engine(settings().database_url)
    current, heads = migrate.current_revisions(engine), migrate.head_revisions()
    state = "up to date" if current == heads else "behind: run `threadbot db upgrade`"
    click.echo(f"{', '.join(sorted(current)) or 'base'} ({state})")


def _debug_line(reply: Reply) -> str:
    return (
        f"  [intent={reply.intent} confidence={reply.confidence:.2f} "
        f"trusted={'yes' if reply.trusted else 'no'} state={reply.state} tier={reply.tier} "
        f"{reply.latency_ms:.1f} ms]"
    )


def _say(user: str, text: str, channel: str = "cli") -> Reply:
    try:
        return agent().handle(Incoming(channel=channel, user_id=user, text=text))
    except MessageRejected as exc:
        raise click.BadParameter(str(exc), param_hint="TEXT") from None


@cli.command("say")
@click.option("--user", required=True, help="Whose conversation this message belongs to.")
@click.option("--debug", is_flag=True, help="Also show intent, confidence, state and tier.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole reply as JSON.")
@click.argument("text")
def say_command(user: str, debug: bool, as_json: bool, text: str) -> None:
    """Send one message as USER and print the bot's reply."""
    reply = _say(user, text)
    if as_json:
        click.echo(json.dumps(asdict(reply), ensure_ascii=False))
        return
    click.echo(reply.text if reply.text is not None else "(no reply: this user has opted out)")
    if debug:
        click.echo(_debug_line(reply))


@cli.command("chat")
@click.option("--user", default="you", show_default=True, help="Whose conversation to continue.")
@click.option("--debug", is_flag=True, help="Show intent, confidence, state and tier each turn.")
def chat_command(user: str, debug: bool) -> None:
    """Talk to the bot in the terminal. Type /debug to toggle details, /quit or Ctrl-D to leave."""
    bot = agent()
    name = bot.script.name
    click.echo(f"Chatting with {name} as '{user}'. /debug toggles details, /quit leaves.")
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if text.strip() == "/quit":
            return
        if text.strip() == "/debug":
            debug = not debug
            click.echo(f"debug {'on' if debug else 'off'}")
            continue
        try:
            reply = bot.handle(Incoming(channel="cli", user_id=user, text=text))
        except MessageRejected as exc:
            click.echo(f"(not sent: {exc})")
            continue
        click.echo(f"{name.lower()}> {reply.text if reply.text is not None else '(silent)'}")
        if debug:
            click.echo(_debug_line(reply))


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Web address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--sandbox-port",
    default=8025,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the local X API sandbox, used when no X credentials are set.",
)
@click.option("--no-twitter", is_flag=True, help="Serve the web app only.")
def run_command(host: str, port: int, sandbox_port: int, no_twitter: bool) -> None:
    """Run the bot: web chat and admin, plus the Twitter loop (on a local sandbox without keys)."""
    config = settings()
    children = plan(config, host, port, sandbox_port, twitter=not no_twitter)
    click.echo(f"chat:  http://{host}:{port}/   admin: http://{host}:{port}/admin")
    if any(child.name == "sandbox" for child in children):
        click.echo(
            f"no X credentials set: the Twitter loop answers a local sandbox; "
            f"tweet at the bot on http://127.0.0.1:{sandbox_port}/"
        )
    click.echo("create an admin login with: .venv/bin/threadbot admin create-user NAME")
    raise SystemExit(supervise(children))
