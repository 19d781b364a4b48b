"""The sandbox's Flask app: X API v2 routes under /2, a control API, and a page for people.

Every view is a module-level function on one blueprint and reads its world from the app
(``app.extensions["sandbox"]``), so each route can be read, and tested, on its own.
"""

from __future__ import annotations

import functools
import re
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from generator.tweetlen import TWEET_LIMIT
from xsandbox.state import REPLY_SETTINGS, ApiError, SandboxState

TWEET_FIELDS = (
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "created_at",
    "lang",
)
_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _json_object() -> dict[str, Any]:
    """The request's JSON object ({} without a body); a list, a scalar or JSON nested too deep
    for the parser is X's 400, not a crash of the sandbox."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json's parser recurses once per level of nesting
        body = []
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid Request", "The request body must be a JSON object.")
    return body


def _check_auth(state: SandboxState) -> None:
    """Requests must carry the account's OAuth 1.0a keys or its OAuth 2.0 user token."""
    header = request.headers.get("Authorization", "")
    if header.startswith("OAuth "):
        params = {k: unquote(v) for k, v in _OAUTH_PARAM.findall(header)}
        creds = state.credentials
        if (
            params.get("oauth_consumer_key") == creds["consumer_key"]
            and params.get("oauth_token") == creds["access_token"]
            and params.get("oauth_signature")
        ):
            return
    elif state.oauth2_token and header == f"Bearer {state.oauth2_token}":
        return
    raise ApiError(401, "Unauthorized", "Unauthorized")


def _shape(tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """A tweet with the default fields plus the requested ones, as X returns it."""
    out = {
        "id": tweet["id"],
        "text": tweet["text"],
        "edit_history_tweet_ids": tweet["edit_history_tweet_ids"],
    }
    out.update({f: tweet[f] for f in TWEET_FIELDS if f in fields and f in tweet})
    return out


def _expand(state: SandboxState, tweets: list[dict[str, Any]]) -> dict[str, Any]:
    """``includes.users`` for ``expansions=author_id``."""
    if "author_id" not in request.args.get("expansions", "").split(","):
        return {}
    ids = dict.fromkeys(t["author_id"] for t in tweets)
    return {"users": [state.users[i] for i in ids]} if ids else {}


def _listing(
    state: SandboxState, tweets: list[dict[str, Any]], next_token: str | None
) -> dict[str, Any]:
    fields = set(request.args.get("tweet.fields", "").split(","))
    if not tweets:
        return {"meta": {"result_count": 0}}
    body: dict[str, Any] = {"data": [_shape(t, fields) for t in tweets]}
    if includes := _expand(state, tweets):
        body["includes"] = includes
    meta: dict[str, Any] = {
        "result_count": len(tweets),
        "newest_id": tweets[0]["id"],
        "oldest_id": tweets[-1]["id"],
    }
    if next_token:
        meta["next_token"] = next_token
    body["meta"] = meta
    return body


def _max_results(default: int, low: int, high: int) -> int:
    raw = request.args.get("max_results", str(default))
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(
            400,
            "Invalid Request",
            f"The `max_results` query parameter value [{raw}] is not between {low} and {high}",
        )
    return int(raw)


def _time_param(name: str) -> datetime | None:
    """An RFC 3339 time parameter (``start_time``, ``end_time``), or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            400,
            "Invalid Request",
            f"Invalid '{name}':'{raw}'. The value must be an RFC 3339 time, e.g. "
            "2026-01-31T09:00:00Z",
        )
    return moment


def _id_param(name: str) -> int | None:
    """A tweet id parameter (``since_id``, ``until_id``), or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "Invalid Request", f"The `{name}` query parameter value is invalid.")
    return int(raw)


def _drop_connection() -> None:
    """Close the socket without answering, as a dying proxy does."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


bp = Blueprint("sandbox", __name__)

# An X API handler: the world and the URL's parts in, (JSON body, status) out.
Handler = Callable[..., tuple[dict[str, Any], int]]
View = Callable[..., tuple[Response, int]]


def create_app(state: SandboxState | None = None) -> Flask:
    """The sandbox app around ``state`` (a fresh world when none is given)."""
    app = Flask(__name__)
    app.extensions["sandbox"] = state or SandboxState()
    app.register_blueprint(bp)
    return app


def _world() -> SandboxState:
    world: SandboxState = current_app.extensions["sandbox"]
    return world


def api(endpoint: str, mutating: bool = False) -> Callable[[Handler], View]:
    """Wrap a /2 handler with auth, rate limits, injected faults and X's error shape."""

    def wrap(handler: Handler) -> View:
        @functools.wraps(handler)
        def view(**kwargs: Any) -> tuple[Response, int]:
            return _answer(_world(), endpoint, mutating, functools.partial(handler, **kwargs))

        return view

    return wrap


def _answer(
    world: SandboxState,
    endpoint: str,
    mutating: bool,
    handler: Callable[[SandboxState], tuple[dict[str, Any], int]],
) -> tuple[Response, int]:
    world.count(f"requests_{endpoint}")
    try:
        _check_auth(world)
        headers = world.take(endpoint)
        _refuse_by_chance(world)
        # Reads fail before any work; a post fails after the tweet exists, the case that makes
        # a client unsure whether its reply went out.
        slow, drop = world.roll("slow"), world.roll("drop")
        if not mutating:
            _fault(world, slow, drop)
        body, status = handler(world)
        if mutating:
            _fault(world, slow, drop)
    except ApiError as exc:
        response = jsonify(exc.body())
        response.headers.update(exc.headers)
        return response, exc.status
    response = jsonify(body)
    response.headers.update(headers)
    return response, status


def _refuse_by_chance(world: SandboxState) -> None:
    """The injected 429 and 503 faults."""
    if world.roll("rate_limited"):
        reset = int(time.time()) + world.faults.reset_after_seconds
        extra = {} if world.faults.omit_reset_header else {"x-rate-limit-reset": str(reset)}
        raise ApiError(429, "Too Many Requests", "Too Many Requests", extra)
    if world.roll("server_error"):
        raise ApiError(503, "Service Unavailable", "Service Unavailable")


def _fault(world: SandboxState, slow: bool, drop: bool) -> None:
    if slow:
        time.sleep(world.faults.slow_seconds)
    if drop:
        _drop_connection()


# -- the X API v2 routes ---------------------------------------------------------------------
@bp.get("/2/users/me")
@api("me")
def me(world: SandboxState) -> tuple[dict[str, Any], int]:
    return {"data": world.users[world.bot_id]}, 200


@bp.get("/2/users/<user_id>/mentions")
@api("mentions")
def mentions(world: SandboxState, user_id: str) -> tuple[dict[str, Any], int]:
    page, token = world.mentions(
        user_id,
        _id_param("since_id"),
        _max_results(10, 5, 100),
        request.args.get("pagination_token"),
    )
    return _listing(world, page, token), 200


@bp.post("/2/tweets")
@api("post", mutating=True)
def create_tweet(world: SandboxState) -> tuple[dict[str, Any], int]:
    body = _json_object()
    reply = body.get("reply") or {}
    target = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else "?"
    if not isinstance(body.get("text", ""), str) or (
        target is not None and not str(target).isdigit()
    ):
        raise ApiError(
            400, "Invalid Request", "One or more parameters to your request was invalid."
        )
    tweet = world.post(world.bot_id, body.get("text") or "", int(target) if target else None)
    return {
        "data": {
            "id": tweet["id"],
            "text": tweet["text"],
            "edit_history_tweet_ids": [tweet["id"]],
        }
    }, 201


@bp.get("/2/tweets/<tweet_id>")
@api("lookup")
def lookup(world: SandboxState, tweet_id: str) -> tuple[dict[str, Any], int]:
    tweet = world.tweets.get(int(tweet_id)) if tweet_id.isdigit() else None
    if tweet is None or not world.visible(int(tweet_id)):
        raise ApiError(404, "Not Found Error", f"Could not find tweet with id: [{tweet_id}].")
    fields = set(request.args.get("tweet.fields", "").split(","))
    return {"data": _shape(tweet, fields)}, 200


@bp.get("/2/tweets/search/recent")
@api("search")
def search(world: SandboxState) -> tuple[dict[str, Any], int]:
    found, token = world.search(
        request.args.get("query", ""),
        _max_results(10, 10, 100),
        request.args.get("next_token"),
        _time_param("start_time"),
        _time_param("end_time"),
        _id_param("since_id"),
        _id_param("until_id"),
    )
    return _listing(world, found, token), 200


# -- for people and tests: no auth, no faults ------------------------------------------------
@bp.get("/")
def page() -> str:
    return render_template("sandbox.html", bot=_world().bot_username)


@bp.get("/sandbox/world")
def snapshot() -> Response:
    return jsonify(_world().snapshot())


@bp.post("/sandbox/tweet")
def tweet_as_person() -> tuple[Response, int]:
    try:
        body = _json_object()
    except ApiError as exc:
        return jsonify({"error": exc.detail}), exc.status
    username = str(body.get("username") or "").strip().lstrip("@")
    text = str(body.get("text") or "").strip()
    target = str(body.get("in_reply_to") or "")
    lang = str(body.get("lang") or "en")
    settings = str(body.get("reply_settings") or "everyone")
    if (
        not re.fullmatch(r"\w{1,15}", username)
        or not text
        or len(text) > TWEET_LIMIT
        or not re.fullmatch(r"[a-z]{2,3}", lang)
        or settings not in REPLY_SETTINGS
    ):
        return jsonify(
            {
                "error": "a user name (letters, digits, _; up to 15), "
                f"1-{TWEET_LIMIT} characters of "
                "text and, optionally, a language code such as en and reply_settings "
                f"({', '.join(REPLY_SETTINGS)})"
            }
        ), 400
    try:
        tweet = _world().tweet(
            username, text, int(target) if target.isdigit() else None, lang, settings
        )
    except ApiError as exc:
        return jsonify({"error": exc.detail}), exc.status
    return jsonify(tweet), 201


@bp.post("/sandbox/delete")
def delete_tweet() -> tuple[Response, int]:
    """A person deletes their tweet: ``{"tweet_id": "..."}``."""
    try:
        target = str(_json_object().get("tweet_id") or "")
        _world().delete(int(target) if target.isdigit() else -1)
    except ApiError as exc:
        return jsonify({"error": exc.detail}), exc.status
    except KeyError:
        return jsonify({"error": "no tweet with that tweet_id"}), 404
    return jsonify({"deleted": target}), 200


@bp.post("/sandbox/user")
def set_user() -> tuple[Response, int]:
    """Change a user's standing: ``{"username": "...", "protected": true, "suspended": false,
    "blocks_bot": true}`` (flags left out stay as they are)."""
    try:
        body = _json_object()
    except ApiError as exc:
        return jsonify({"error": exc.detail}), exc.status
    username = str(body.get("username") or "").strip().lstrip("@")
    flags = {k: body[k] for k in ("protected", "suspended", "blocks_bot") if k in body}
    if not re.fullmatch(r"\w{1,15}", username) or not all(
        isinstance(v, bool) for v in flags.values()
    ):
        return jsonify(
            {"error": "a user name and true/false for protected, suspended, blocks_bot"}
        ), 400
    _world().set_user(username, **flags)
    return jsonify({"username": username, **flags}), 200


@bp.post("/sandbox/faults")
def set_faults() -> tuple[Response, int]:
    faults = _world().faults
    try:
        faults.update(_json_object())
    except ApiError as exc:
        return jsonify({"error": exc.detail}), exc.status
    except (TypeError, ValueError) as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(vars(faults)), 200
