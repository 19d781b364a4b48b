"""Admin login and logout, the current admin on ``g``, and the guard every admin route passes."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from agent.settings import Settings
from web.db import get_session
from web.models import AdminUser
from web.review import accounts

bp = Blueprint("auth", __name__, url_prefix="/admin")

# An address may fail more often than one account: several admins can share an office.
ADDRESS_FAILURE_FACTOR = 4


# Admin sessions stay hand-written rather than Flask-Login: what they need beyond "who is
# logged in" (an absolute login lifetime, a fresh session on login, lockout per account and per
# address) Flask-Login leaves to the app, and these lines are what it would replace:
# session["admin_id"] here and in login(), plus the guard below.
@bp.before_app_request
def load_logged_in_admin() -> None:
    """Put the logged-in admin (or None) on ``g.admin``; expired logins are dropped."""
    g.admin = None
    admin_id = session.get("admin_id")
    if admin_id is None:
        return
    hours = current_app.config["ADMIN_SESSION_HOURS"]
    if time.time() - float(session.get("admin_at", 0)) > hours * 3600:
        session.pop("admin_id", None)
        return
    g.admin = get_session().get(AdminUser, admin_id)


def require_admin() -> Response | None:
    """Send anonymous visitors to the login page (GET) or refuse them (anything else)."""
    if g.get("admin") is not None:
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    flash("Please log in again.")
    return redirect(url_for("auth.login"), code=303)


def guard(blueprint: Blueprint) -> Blueprint:
    """Make every route of ``blueprint`` refuse anonymous visitors."""
    blueprint.before_request(require_admin)
    return blueprint


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is one of our own admin pages, else ``default``: never an open
    redirect to another site."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return default


def back_from_form(default: str) -> str:
    """Where a console form asked to go back to (its ``next`` field), or ``default``."""
    return safe_next(request.form.get("next"), default)


def _throttle_keys(username: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()[:150]}", f"ip:{request.remote_addr or 'unknown'}"


@bp.route("/login", methods=("GET", "POST"))
def login() -> Response | str:
    """Log an admin in; repeated failures lock the account name and the address for a while."""
    if request.method == "GET":
        return render_template("admin/login.html", next=request.args.get("next", ""))
    settings: Settings = current_app.config["SETTINGS"]
    db = get_session()
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    user_key, ip_key = _throttle_keys(username)
    wait = accounts.locked_for(db, [user_key, ip_key])
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        flash(f"Too many failed logins. Try again in about {minutes} minute(s).")
        page = render_template("admin/login.html", next=request.form.get("next", ""))
        return Response(page, 429, {"Retry-After": str(int(wait.total_seconds()) + 1)})
    admin = accounts.authenticate(db, username, password) if username and password else None
    if admin is None:
        lockout = timedelta(seconds=settings.web_login_lockout_seconds)
        limit = settings.web_login_max_failures
        accounts.record_failure(db, [user_key], limit, lockout)
        accounts.record_failure(db, [ip_key], limit * ADDRESS_FAILURE_FACTOR, lockout)
        db.commit()
        flash("Wrong username or password.")
        page = render_template("admin/login.html", next=request.form.get("next", ""))
        return Response(page, 401)
    accounts.clear_failures(db, [user_key])
    db.commit()
    chat_user = session.get("chat_user")
    # A fresh session on login: a token planted before login is worthless after it.
    session.clear()
    if chat_user:
        session["chat_user"] = chat_user
    session.permanent = True
    session["admin_id"] = admin.id
    session["admin_at"] = time.time()
    return redirect(back_from_form(url_for("dashboard.index")), code=303)


@bp.post("/logout")
def logout() -> Response:
    """Log out (a POST with the CSRF token, so another site cannot log you out)."""
    for key in ("admin_id", "admin_at", "csrf_token"):
        session.pop(key, None)
    flash("You are logged out.")
    return redirect(url_for("auth.login"), code=303)
