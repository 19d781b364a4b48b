"""Tweets are hostile input: every page must show them as text, never run them."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import AdminActions

HOSTILE = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<b>bold</b> & <i>it</i>",
    "\u202eevil.exe\u202c txt",  # right-to-left override
    "zero\u200bwidth\u200djoin\ufeffbom",
    "{{ 7*7 }} {% raw %}",
    "javascript:alert(1)",
]
RAW_MARKUP = ["<script>alert", "<img src=x", "<b>bold</b>", "<i>it</i>"]


def send_all(client: FlaskClient, user: str) -> None:
    for text in HOSTILE:
        response = client.post("/api/v1/chat", json={"user": user, "text": "hello " + text})
        assert response.status_code == 200, response.text


def assert_escaped(page: str, shown: bool = True) -> None:
    for markup in RAW_MARKUP:
        assert markup not in page, markup
    if shown:  # the hostile text is there, as text
        assert "&lt;script&gt;alert(" in page


def test_hostile_text_is_escaped_on_every_page(admin: AdminActions) -> None:
    client = admin.client
    send_all(client, '<script>alert("user")</script>')
    pages = [
        "/admin/conversations",
        "/admin/conversations?q=%3Cscript",
        "/admin/turns",
        "/admin/review?user=%3Cscript",
        "/admin/conversations/1",
        "/admin/",
    ]
    for url in pages:
        page = client.get(url)
        assert page.status_code == 200, url
        assert_escaped(page.text, shown=url not in ("/admin/", "/admin/review?user=%3Cscript"))
        assert '<script>alert("user")' not in page.text
    thread = client.get("/admin/conversations/1").text
    # Kept as sent, but shown: no override can reverse the text, no joiner can hide in it.
    assert "\u202e" not in thread and "\u200b" not in thread
    assert 'title="U+202E RIGHT-TO-LEFT OVERRIDE"' in thread
    assert 'zero<span class="hidden-char" role="img" title="U+200B ZERO WIDTH SPACE"' in thread
    with client.get("/static/style.css") as css:
        assert "unicode-bidi: isolate" in css.text and ".hidden-char" in css.text
    assert "{{ 7*7 }}" in thread and "hello 49" not in thread  # templates never re-render text


def test_chat_page_escapes_history(client: FlaskClient) -> None:
    page = client.get("/")
    user = page.text.split('data-user="')[1].split('"')[0]
    send_all(client, user)
    assert_escaped(client.get("/").text)


def test_security_headers_everywhere(client: FlaskClient) -> None:
    for url in ("/", "/healthz", "/admin/login", "/nope", "/static/style.css"):
        with client.get(url) as response:
            headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"


def test_no_inline_scripts_or_styles(admin: AdminActions) -> None:
    """The CSP forbids inline code, so the pages must not rely on any."""
    for url in ("/", "/admin/", "/admin/conversations", "/admin/turns", "/admin/login"):
        page = admin.client.get(url).text
        assert " style=" not in page and "<style" not in page, url
        for chunk in page.split("<script")[1:]:
            head = chunk.split(">")[0]
            assert "src=" in head or 'type="application/json"' in head, url
        assert " onclick=" not in page and " onsubmit=" not in page


def test_html_errors_for_people_json_for_api(client: FlaskClient) -> None:
    page = client.get("/missing", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html" and "404" in page.text
    api = client.get("/missing", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_unexpected_errors_hide_details(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import db as web_db

    def boom() -> None:
        raise RuntimeError("secret: postgresql://user:hunter2@db/prod")

    monkeypatch.setattr(web_db.Runtime, "agent", lambda self: boom())
    client = app.test_client()
    api = client.post("/api/v1/chat", json={"user": "a", "text": "hi"})
    assert api.status_code == 500 and "hunter2" not in api.text
    assert api.get_json()["error"]["code"] == "internal_server_error"
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "hunter2" not in page.text and "logged" in page.text
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "hunter2" not in ready.text
    assert ready.get_json()["checks"]["nlu"] == "failed to load"


def test_secret_key_never_in_pages(admin: AdminActions) -> None:
    key = str(admin.app.secret_key)
    for url in ("/", "/admin/", "/admin/conversations", "/readyz", "/missing"):
        assert key not in admin.client.get(url).text


@pytest.mark.parametrize(
    "url",
    [
        "/admin/conversations?page=%C2%B2",  # "²": isdigit() says yes, int() says no
        "/admin/turns?page=" + "9" * 40,
        "/admin/?days=%C2%B2",
        "/admin/review?q=%00",
    ],
)
def test_odd_numbers_and_nul_in_queries_are_not_errors(admin: AdminActions, url: str) -> None:
    response = admin.client.get(url)
    assert response.status_code in (200, 400), response.text[:200]
    if response.status_code == 400:
        assert "NUL" in response.text


def test_nul_and_odd_ids_in_forms_change_nothing(admin: AdminActions) -> None:
    refused = admin.post("/admin/login", {"username": "a\x00", "password": "x"})
    assert refused.status_code == 400 and "NUL character" in refused.text
    bulk = admin.post("/admin/turns/bulk", {"action": "good", "turn_id": ["\u00b2", "9" * 40]})
    assert bulk.status_code == 303
