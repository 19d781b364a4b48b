from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agent.core.pipeline import Agent
from agent.storage.models import utcnow
from tests.web.conftest import PASSWORD, AdminActions, make_app
from web.models import AdminUser, LoginFailure
from web.review import accounts

# Routes anyone may reach; every other route under /admin must refuse anonymous visitors.
PUBLIC_ADMIN_ENDPOINTS = {"auth.login"}


# A value for each URL argument an admin route takes.
SAMPLE_ARGS = {
    "conversation_id": 1, "turn_id": 1, "user_id": 1, "action": "pause", "fmt": "csv",
    "star_id": 1, "shape": "wide",
}  # fmt: skip


def test_every_admin_route_refuses_anonymous_visitors(app: Flask, client: FlaskClient) -> None:
    """Walk the URL map: any route under /admin but the login page refuses, whatever the method."""
    adapter = app.url_map.bind("localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in PUBLIC_ADMIN_ENDPOINTS:
            continue
        url = adapter.build(rule.endpoint, {name: SAMPLE_ARGS[name] for name in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            # A valid CSRF token, so the refusal proven here is the login guard's own.
            with client.session_transaction() as session:
                session["csrf_token"] = "t"
            response = client.open(url, method=method, data={"csrf_token": "t"})
            assert response.status_code in (302, 303), (method, url, response.status_code)
            assert response.headers["Location"].startswith("/admin/login"), (method, url)
            checked += 1
    assert checked >= 11  # every admin view that exists today; new ones are walked too


def test_anonymous_get_redirects_to_login_and_back(app: Flask, client: FlaskClient) -> None:
    actions = AdminActions(app, client)
    actions.create()
    response = client.get("/admin/conversations?q=x")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    page = client.get(response.headers["Location"])
    assert 'name="next" value="/admin/conversations?q=x"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post(
        "/admin/login",
        data={
            "csrf_token": token,
            "username": "alice",
            "password": PASSWORD,
            "next": "/admin/conversations?q=x",
        },
    )
    assert done.headers["Location"] == "/admin/conversations?q=x"


def test_login_ignores_offsite_next(app: Flask, client: FlaskClient) -> None:
    actions = AdminActions(app, client)
    actions.create()
    page = client.get("/admin/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    for target in ("https://evil.example/", "//evil.example/admin", "/elsewhere"):
        done = client.post(
            "/admin/login",
            data={"csrf_token": token, "username": "alice", "password": PASSWORD, "next": target},
        )
        assert done.headers["Location"] == "/admin/", target
        token = client.get("/admin/login").text.split('name="csrf_token" value="')[1].split('"')[0]


def test_login_sets_a_hardened_cookie_and_logout_ends_it(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    actions = AdminActions(app, client)
    actions.create()
    response = actions.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/admin/").status_code == 200
    admin = db.scalar(select(AdminUser))
    assert admin is not None and admin.last_login_at is not None
    assert PASSWORD not in admin.password_hash and admin.password_hash.startswith("scrypt:")
    assert client.get("/admin/logout").status_code == 405  # logging out is a POST
    no_token = client.post("/admin/logout", headers={"Accept": "text/html"})
    assert no_token.status_code == 400
    assert actions.logout().status_code == 303
    assert client.get("/admin/").status_code == 302


def test_secure_cookie_behind_tls(sqlite_engine: Engine, agent: Agent) -> None:
    app = make_app(sqlite_engine, agent, web_https=True)
    actions = AdminActions(app, app.test_client())
    actions.create()
    cookie = actions.login().headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_is_refused(app: Flask, client: FlaskClient) -> None:
    actions = AdminActions(app, client)
    actions.create()
    for name, password in (("alice", "wrong password!"), ("nobody", PASSWORD), ("", "")):
        response = actions.login(name, password)
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    assert client.get("/admin/").status_code == 302


def test_lock_out_after_repeated_failures(app: Flask, client: FlaskClient, db: Session) -> None:
    actions = AdminActions(app, client)
    actions.create()
    for _ in range(5):
        assert actions.login("alice", "not the password").status_code == 401
    locked = actions.login("alice", PASSWORD)  # even the right password waits now
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 200
    assert "Too many failed logins" in locked.text
    # Another address is locked out of this account too: the name itself is locked.
    assert actions.login("alice", PASSWORD, address="10.9.9.9").status_code == 429
    # When the lock expires the right password works and the count is forgotten.
    row = db.get(LoginFailure, "user:alice")
    assert row is not None
    row.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    assert actions.login("alice", PASSWORD, address="10.9.9.9").status_code == 303
    db.expire_all()
    assert db.get(LoginFailure, "user:alice") is None


def test_one_address_trying_many_names_is_locked(sqlite_engine: Engine, agent: Agent) -> None:
    app = make_app(sqlite_engine, agent, web_login_max_failures=2)  # 8 per address
    actions = AdminActions(app, app.test_client())
    actions.create()
    for number in range(8):
        assert actions.login(f"guess{number}", "nope", address="10.1.1.1").status_code == 401
    assert actions.login("alice", PASSWORD, address="10.1.1.1").status_code == 429
    assert actions.login("alice", PASSWORD, address="10.2.2.2").status_code == 303


def test_lockouts_double(db: Session) -> None:
    now = utcnow()
    for _ in range(7):
        accounts.record_failure(db, ["user:x"], 5, timedelta(minutes=5), now=now)
    wait = accounts.locked_for(db, ["user:x"], now=now)
    assert wait == timedelta(minutes=20)  # 5th failure: 5 min, 6th: 10, 7th: 20


def test_admin_login_expires(app: Flask, client: FlaskClient) -> None:
    actions = AdminActions(app, client)
    actions.create()
    actions.login()
    with client.session_transaction() as session:
        session["admin_at"] = session["admin_at"] - 13 * 3600
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", PASSWORD, "username must be"),
        ("x" * 51, PASSWORD, "username must be"),
        ("bob", "short", "at least 12"),
        ("ALICE", PASSWORD, "already exists"),
    ],
)
def test_create_admin_validation(db: Session, username: str, password: str, message: str) -> None:
    accounts.create_admin(db, "alice", PASSWORD)
    with pytest.raises(accounts.AccountError, match=message):
        accounts.create_admin(db, username, password)
