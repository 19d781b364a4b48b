"""Secret key, CSRF tokens on every form, no NUL in any field, and the security headers."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from flask import Flask, Response, abort, current_app, request, session

from agent.settings import Settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Endpoints that take no cookies and only JSON, so a cross-site form cannot forge them.
CSRF_EXEMPT = {"chat.api_chat"}
# No inline script or style anywhere: user text can never become code, even if escaping failed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def secret_key(app: Flask, settings: Settings) -> str:
    """THREADBOT_SECRET_KEY, else a test key, else a random key kept in the instance folder.

    The instance file lets `make run` work out of the box; several web hosts must share the
    setting instead, or each would reject the others' cookies.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"])
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only from the start, so the key is never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


# CSRF stays hand-written rather than Flask-WTF's CSRFProtect: the rule is these two functions
# (one random token per session, compared in constant time on every state-changing request,
# form field or fetch() header). CSRFProtect would add Flask-WTF and WTForms for the same check,
# and its tokens expire after an hour by default, so a reviewer's long annotation would be
# refused on save; without expiry it is this code behind a dependency.
def csrf_token() -> str:
    """The session's CSRF token, created on first use (templates call this)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(session[CSRF_FIELD])


def check_csrf() -> None:
    """Refuse a state-changing request whose form or header lacks the session's token.

    :raise 400: the token is missing or wrong.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in CSRF_EXEMPT:
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, "The form expired or did not come from this site. Reload the page and retry.")


def refuse_nul() -> None:
    """Refuse a query or form value holding NUL: no one types it, and PostgreSQL cannot store
    or even compare it, so it would otherwise fail deep inside a query.

    :raise 400: a name or value holds NUL.
    """
    for values in (request.args, request.form):
        for name, items in values.lists():
            if "\x00" in name or any("\x00" in item for item in items):
                abort(400, "The request holds a NUL character (%00), which no field accepts.")


def add_headers(response: Response) -> Response:
    """CSP and the usual hardening headers; admin pages are never cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.path.startswith(("/admin", "/api/")):
        headers["Cache-Control"] = "no-store"
    settings: Settings = current_app.config["SETTINGS"]
    if settings.web_https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    """Check NUL and CSRF before each request, add headers after, expose ``csrf_token``."""
    app.before_request(refuse_nul)
    app.before_request(check_csrf)
    app.after_request(add_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD
