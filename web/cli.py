"""``threadbot serve`` and ``threadbot admin ...``: run the web app and manage admin accounts."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import Flask
from sqlalchemy.orm import Session

from agent.context import AppContext, host_option, pass_app, port_option
from web.review import accounts


@click.command("serve")
@host_option
@port_option(8000)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (one per core is a good start).",
)
@click.option("--dev", is_flag=True, help="Flask's debug server with reloading, for development.")
def serve_command(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the chat page, the chat API and the admin console (gunicorn)."""
    from web import create_app

    if dev:
        create_app().run(host=host, port=port, debug=True)
        return
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # Each worker builds its own app: SQLite connections must not cross a fork.
            self.cfg.set("preload_app", False)
            self.cfg.set("accesslog", "-")

        def load(self) -> Flask:
            return create_app()

    click.echo(f"serving on http://{host}:{port} with {workers} worker(s); Ctrl-C stops")
    _Server().run()


@click.group("admin")
def admin_group() -> None:
    """Manage admin accounts for the web console."""


def _change_account(
    app: AppContext, change: Callable[[Session, str, str], object], username: str, password: str
) -> None:
    """Run one account change in a transaction; a refused name or password is a usage error."""
    with app.sessions.begin() as session:
        try:
            change(session, username, password)
        except accounts.AccountError as exc:
            raise click.BadParameter(str(exc)) from None


@admin_group.command("create-user")
@click.argument("username")
@click.password_option(help="The password (asked for when not given; at least 12 characters).")
@pass_app
def create_user(app: AppContext, username: str, password: str) -> None:
    """Create an admin account USERNAME that can log in to /admin."""
    _change_account(app, accounts.create_admin, username, password)
    click.echo(f"admin {username!r} created; log in at /admin/login")


@admin_group.command("set-password")
@click.argument("username")
@click.password_option(help="The new password (asked for when not given).")
@pass_app
def set_password(app: AppContext, username: str, password: str) -> None:
    """Give the admin USERNAME a new password."""
    _change_account(app, accounts.set_password, username, password)
    click.echo(f"password for {username!r} changed")
