"""``threadbot showcase``: publish the exchanges reviewers starred (an entry point)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from tqdm import tqdm

from agent.context import AppContext, pass_app
from web.review.filters import TIERS, TurnFilter
from web.showcase.cards import Fonts
from web.showcase.exchanges import bot_identity, starred
from web.showcase.gallery import GalleryError, write_gallery

RECALL_WARNING = (
    "A gallery already published cannot be recalled from where it was copied: after "
    "`threadbot users forget` or an unstar, export again and republish the folder."
)


@click.group("showcase")
def showcase_group() -> None:
    """Share the exchanges reviewers starred in the console."""


@showcase_group.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for index.html and cards/ (empty, or an earlier gallery to update).",
)
@click.option(
    "--title", default=None, help="The page's title [default: 'Conversations with <bot name>']."
)
@click.option(
    "--show-handles",
    is_flag=True,
    help="Show people on X by display name and full handle (masked by default: '@j•••'). "
    "Only with their consent.",
)
@click.option("--channel", type=click.Choice(["web", "twitter", "cli"]), help="Only this channel.")
@click.option("--tier", type=click.Choice(TIERS), help="Only replies from this tier.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Exchanges said on or after.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Exchanges said on or before.")
@pass_app
def export_command(
    app: AppContext,
    out: Path,
    title: str | None,
    show_handles: bool,
    channel: str | None,
    tier: str | None,
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Write a static gallery page of the starred exchanges, with their tweet cards.

    Opted-out and forgotten users are left out; text is scrubbed of links, e-mails, handles,
    phone numbers and names. The page loads nothing from outside its folder.
    """
    where = TurnFilter(
        channel=channel or "",
        tier=tier or "",
        date_from=since.date() if since else None,
        date_to=until.date() if until else None,
    )
    bot = bot_identity(app.settings)
    with app.sessions() as session:
        exchanges = starred(session, bot, where, show_handles=show_handles)
    fonts = Fonts(app.settings.card_emoji_font)
    with tqdm(total=len(exchanges), unit="exchange", desc="cards") as bar:
        try:
            page = write_gallery(
                exchanges,
                out,
                fonts,
                title or f"Conversations with {bot.name}",
                bar.update,
                masked=not show_handles,
            )
        except GalleryError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {len(exchanges)} exchange(s) to {page}")
    if fonts.emoji_path is None:
        click.echo(
            "note: no colour emoji font found, so emoji are drawn in black and white "
            "where DejaVu has them (set THREADBOT_CARD_EMOJI_FONT)"
        )
    click.echo(RECALL_WARNING)
