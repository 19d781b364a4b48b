"""``threadbot users``: data requests from the people the bot talks to (an entry point).

Here, beside retrain/forget.py, because forgetting someone means keeping them out of every
training snapshot as well as deleting their turns.
"""

from __future__ import annotations

import click

from agent.context import AppContext, pass_app
from agent.mlops.retrain.forget import drop_snapshots, find_users, forget


@click.group("users")
def users_group() -> None:
    """Data requests from the people the bot talks to."""


@users_group.command("forget")
@click.argument("handle")
@click.confirmation_option(prompt="This deletes the user's turns for good. Continue?")
@pass_app
def users_forget(app: AppContext, handle: str) -> None:
    """Delete HANDLE's turns and keep them out of every future training snapshot."""
    settings = app.settings
    with app.sessions.begin() as session:
        users = find_users(session, handle)
        if not users:
            raise click.ClickException(f"no user with handle {handle!r}")
        turns, mentions, turn_ids = forget(session, users)
    dropped = drop_snapshots(settings.model_dir / "snapshots", turn_ids)
    click.echo(
        f"forgot {handle}: {len(users)} account(s), {turns} turn(s), {mentions} Twitter row(s), "
        f"{dropped} snapshot(s) deleted; they are opted out and never trained on, and gone "
        "from the showcase (galleries already published cannot be recalled: export again)"
    )
