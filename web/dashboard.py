"""The dashboard: traffic, tiers, fallbacks, intents, latency, the Twitter loop, the dialogue."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from agent.channels.twitter.health import loop_health
from web.auth import guard
from web.db import get_session, runtime
from web.graph import diagram
from web.review import stats
from web.review.filters import whole_number

bp = guard(Blueprint("dashboard", __name__, url_prefix="/admin"))

WINDOWS = (7, 30, 90)


def _board() -> stats.Dashboard:
    """The dashboard's numbers, recomputed at most every DASHBOARD_CACHE_SECONDS per worker."""
    days = _window()
    ttl = current_app.config["DASHBOARD_CACHE_SECONDS"]
    cache = runtime().cache
    hit = cache.get(("dashboard", days))
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]  # type: ignore[return-value]
    board = stats.dashboard(get_session(), window_days=days, settled=runtime().settled_days)
    cache[("dashboard", days)] = (time.monotonic(), board)
    return board


def _window() -> int:
    days = whole_number(request.args.get("days", "30"))
    return days if days in WINDOWS else 30


@bp.get("/")
def index() -> str:
    """The dashboard page; the charts read the numbers embedded as JSON."""
    board = _board()
    return render_template(
        "admin/dashboard.html",
        board=board,
        windows=WINDOWS,
        twitter=loop_health(get_session()),
        now=datetime.now(UTC),
        graph=diagram(runtime().agent().script),
    )


@bp.get("/stats.json")
def stats_json() -> Response:
    """The dashboard's numbers, for scripts and monitoring."""
    board = _board()
    return jsonify(board.as_json() | {"users": board.users, "needs_review": board.needs_review})
