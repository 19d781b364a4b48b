"""The ``threadbot`` command line: the composition root every command hangs from.

It builds one :class:`~agent.context.AppContext` per invocation and hands it to each command as
click's ``ctx.obj``. The commands of each part (web, Twitter channel, retraining, operations, nlu,
generator) are found through the ``threadbot.commands`` entry points in pyproject.toml, the way
Flask's CLI finds ``flask.commands``, so no part imports this module and this module imports no
part's commands. Its own commands here: validate, graph, db, say, chat, run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from agent.context import AppContext, host_option, pass_app, port_option
from agent.core.machine import mermaid_graph
from agent.core.messages import Incoming, MessageRejected, Reply
from agent.core.runtime import load_checked_script
from agent.core.script import STANCE_SLOT, ScriptError, variant_warnings
from agent.mlops.registry.watcher import serve_models
from agent.ops.logs import configure_logging
from agent.ops.supervisor import plan, supervise
from agent.settings import SettingsError
from agent.storage import migrate
from nlu import DataError, NLUError

COMMANDS_GROUP = "threadbot.commands"


class RootGroup(click.Group):
    """Turns the known start-up failures of any command into a one-line error, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ScriptError, DataError) as exc:
            raise click.ClickException(f"the bot's files have problems:\n{exc}") from None
        except (SettingsError, migrate.SchemaOutOfDate, NLUError) as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=RootGroup)
@click.version_option(package_name="threadbot")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """threadbot: a state-machine chatbot for Twitter threads.

    Settings come from THREADBOT_* environment variables or a .env file (see README).
    """
    if ctx.obj is None:
        ctx.obj = AppContext(serve_models=serve_models)
    try:
        settings = ctx.obj.settings
    except SettingsError:
        return  # each command that reads settings reports them (doctor lists every problem)
    configure_logging(settings.log_level, settings.log_format)
    # transitions logs every callback and alembic every connection at INFO: noise for a person.
    for chatty in ("transitions", "alembic"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))


def _register_part_commands() -> None:
    found = entry_points(group=COMMANDS_GROUP)
    if not found:
        raise SystemExit(
            f"threadbot: no {COMMANDS_GROUP} entry points: the package metadata is stale; "
            "reinstall with `make .venv/.installed`"
        )
    # "group.command" names a command of another part's group: `generator.collect` reads X, so
    # it lives with the Twitter channel and joins the generator group here, which keeps
    # generator/ free of agent/ imports.
    nested = []
    for entry in found:
        group, dot, name = entry.name.partition(".")
        if dot:
            nested.append((group, name, entry))
        else:
            cli.add_command(entry.load(), entry.name)
    for group, name, entry in nested:
        parent = cli.commands.get(group)
        if not isinstance(parent, click.Group):
            raise SystemExit(f"threadbot: entry point {entry.name!r} names no command group")
        parent.add_command(entry.load(), name)


_register_part_commands()


@cli.command("validate")
@pass_app
def validate_command(app: AppContext) -> None:
    """Check the dialogue script against the intents file and report every problem."""
    config = app.settings
    try:
        script = load_checked_script(config)
    except (ScriptError, DataError) as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) found") from None
    warnings = variant_warnings(script, config.min_reply_variants)
    for warning in warnings:
        click.echo(str(warning), err=True)
    follow_ups = script.follow_ups
    answered = (
        f", follow-ups for {len(follow_ups.answers) - len(follow_ups.intents)} subjects and "
        f"{len(follow_ups.intents)} intents"
        if follow_ups is not None
        else ""
    )
    on_stance = sum(
        any(script.value_guards.get(g, ("",))[0] == STANCE_SLOT for g in (*t.conditions, *t.unless))
        for t in script.transitions
    )
    stance = (f", {on_stance} on the message's stance" if on_stance else "") + (
        f", own stance {script.persona.stance}" if script.persona.stance else ""
    )
    click.echo(
        f"{config.dialogue_path}: ok ({len(script.states)} states, "
        f"{len(script.transitions)} transitions, {len(script.triggers)} intents used{answered}"
        f"{stance}" + (f"; {len(warnings)} warning(s))" if warnings else ")")
    )


@cli.command("graph")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the Mermaid diagram here instead of printing it.",
)
@pass_app
def graph_command(app: AppContext, out: Path | None) -> None:
    """Export the dialogue script as a Mermaid state diagram."""
    text = mermaid_graph(load_checked_script(app.settings))
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
@pass_app
def db_upgrade(app: AppContext, revision: str) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    engine = app.engine
    migrate.upgrade(engine, revision)
    click.echo(f"database at {', '.join(sorted(migrate.current_revisions(engine))) or 'base'}")


@db_group.command("downgrade")
@click.argument("revision")
@click.confirmation_option(prompt="Downgrading can drop tables and their data. Continue?")
@pass_app
def db_downgrade(app: AppContext, revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    engine = app.engine
    migrate.downgrade(engine, revision)
    click.echo(f"database at {', '.join(sorted(migrate.current_revisions(engine))) or 'base'}")


@db_group.command("current")
@pass_app
def db_current(app: AppContext) -> None:
    """Show the database's revision and whether it is the newest."""
    engine = app.engine
    current, heads = migrate.current_revisions(engine), migrate.head_revisions()
    state = "up to date" if current == heads else "behind: run `threadbot db upgrade`"
    click.echo(f"{', '.join(sorted(current)) or 'base'} ({state})")


def _debug_line(reply: Reply) -> str:
    follow = reply.follow_up
    bound = f"follow-up={follow['kind'] or 'any'}->{follow['subject']} " if follow else ""
    return (
        f"  [intent={reply.intent} confidence={reply.confidence:.2f} "
        f"trusted={'yes' if reply.trusted else 'no'} state={reply.state} tier={reply.tier} "
        f"{bound}{reply.latency_ms:.1f} ms]"
    )


def _say(app: AppContext, user: str, text: str, channel: str = "cli") -> Reply:
    try:
        return app.agent().handle(Incoming(channel=channel, user_id=user, text=text))
    except MessageRejected as exc:
        raise click.BadParameter(str(exc), param_hint="TEXT") from None


@cli.command("say")
@click.option("--user", required=True, help="Whose conversation this message belongs to.")
@click.option("--debug", is_flag=True, help="Also show intent, confidence, state and tier.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole reply as JSON.")
@click.argument("text")
@pass_app
def say_command(app: AppContext, user: str, debug: bool, as_json: bool, text: str) -> None:
    """Send one message as USER and print the bot's reply."""
    reply = _say(app, user, text)
    if as_json:
        click.echo(json.dumps(asdict(reply), ensure_ascii=False))
        return
    click.echo(reply.text if reply.text is not None else "(no reply: this user has opted out)")
    if debug:
        click.echo(_debug_line(reply))


@cli.command("chat")
@click.option("--user", default="you", show_default=True, help="Whose conversation to continue.")
@click.option("--debug", is_flag=True, help="Show intent, confidence, state and tier each turn.")
@pass_app
def chat_command(app: AppContext, user: str, debug: bool) -> None:
    """Talk to the bot in the terminal. Type /debug to toggle details, /quit or Ctrl-D to leave."""
    bot = app.agent()
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
@host_option
@port_option(8000)
@port_option(
    8025,
    name="--sandbox-port",
    help="Port of the local X API sandbox, used when no X credentials are set.",
)
@click.option("--no-twitter", is_flag=True, help="Serve the web app only.")
@pass_app
def run_command(app: AppContext, host: str, port: int, sandbox_port: int, no_twitter: bool) -> None:
    """Run the bot: web chat and admin, plus the Twitter loop (on a local sandbox without keys)."""
    config = app.settings
    children = plan(config, host, port, sandbox_port, twitter=not no_twitter)
    click.echo(f"chat:  http://{host}:{port}/   admin: http://{host}:{port}/admin")
    if any(child.name == "sandbox" for child in children):
        click.echo(
            f"no X credentials set: the Twitter loop answers a local sandbox; "
            f"tweet at the bot on http://127.0.0.1:{sandbox_port}/"
        )
    click.echo("create an admin login with: .venv/bin/threadbot admin create-user NAME")
    raise SystemExit(supervise(children))
