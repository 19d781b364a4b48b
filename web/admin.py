"""The admin console's reading views: conversations, one thread, turn search, review inbox."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request

from web.auth import guard
from web.db import get_session, runtime
from web.review import queries
from web.review.filters import page_number, parse_filter

bp = guard(Blueprint("admin", __name__, url_prefix="/admin"))


def _choices() -> dict[str, list[str]]:
    state = runtime()
    return {
        "channel": ["web", "twitter", "cli"],
        "intent": state.intents,
        "state": state.states,
    }


@bp.get("/conversations")
def conversations() -> str:
    """Conversations, most recent first, filtered and paginated."""
    where, problems = parse_filter(request.args)
    for problem in problems:
        flash(problem)
    page = queries.conversation_page(
        get_session(), where, page_number(request.args), current_app.config["PAGE_SIZE"]
    )
    return render_template("admin/conversations.html", page=page, where=where, choices=_choices())


@bp.get("/conversations/<int:conversation_id>")
def thread(conversation_id: int) -> str:
    """Every turn of one conversation, with how the bot decided each reply.

    :raise 404: no such conversation.
    """
    found = queries.conversation_with_user(get_session(), conversation_id)
    if found is None:
        abort(404, f"There is no conversation {conversation_id}.")
    conversation, user = found
    rows = queries.thread(get_session(), conversation_id)
    return render_template(
        "admin/thread.html",
        conversation=conversation,
        user=user,
        rows=rows,
        intents=runtime().intents,
    )


def _turn_list(title: str, review: bool) -> str:
    where, problems = parse_filter(request.args, review=review)
    for problem in problems:
        flash(problem)
    page = queries.turn_page(
        get_session(), where, page_number(request.args), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "admin/turns.html",
        title=title,
        page=page,
        where=where,
        choices=_choices(),
        review_view=review,
        intents=runtime().intents,
    )


@bp.get("/turns")
def turns() -> str:
    """Search single turns across all conversations."""
    return _turn_list("Turns", review=False)


@bp.get("/review")
def review() -> str:
    """The inbox: fallback and low-confidence turns nobody has annotated yet."""
    return _turn_list("Needs review", review=True)
