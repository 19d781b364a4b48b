from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from agent.storage.db import make_sessionmaker
from web import cli as web_cli
from web.models import AdminUser


def test_create_user_then_log_in_with_it(runner: CliRunner, sqlite_engine: Engine) -> None:
    result = runner.invoke(
        web_cli.admin_group, ["create-user", "alice"], input="long enough pw\nlong enough pw\n"
    )
    assert result.exit_code == 0, result.output
    assert "admin 'alice' created" in result.output
    assert "long enough pw" not in result.output  # the password is never echoed
    with make_sessionmaker(sqlite_engine)() as session:
        admin = session.scalar(select(AdminUser))
        assert admin is not None and admin.username == "alice"
    again = runner.invoke(web_cli.admin_group, ["create-user", "alice", "--password", "x" * 12])
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(web_cli.admin_group, ["create-user", "bob", "--password", "short"])
    assert short.exit_code == 2 and "at least 12" in short.output


def test_set_password(runner: CliRunner) -> None:
    runner.invoke(web_cli.admin_group, ["create-user", "alice", "--password", "first password"])
    done = runner.invoke(
        web_cli.admin_group, ["set-password", "alice", "--password", "second password"]
    )
    assert done.exit_code == 0 and "changed" in done.output
    missing = runner.invoke(web_cli.admin_group, ["set-password", "zed", "--password", "x" * 12])
    assert missing.exit_code == 2 and "no admin named" in missing.output


def test_serve_runs_gunicorn_with_the_factory(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(server: Any) -> None:
        server.load_config()
        seen["bind"] = server.cfg.bind
        seen["workers"] = server.cfg.workers
        seen["preload"] = server.cfg.preload_app

    from gunicorn.app.base import BaseApplication

    monkeypatch.setattr(BaseApplication, "__init__", lambda self: setattr(self, "cfg", _Cfg()))
    monkeypatch.setattr(BaseApplication, "run", fake_run)
    result = runner.invoke(web_cli.serve_command, ["--port", "8123", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert seen == {"bind": ["127.0.0.1:8123"], "workers": 3, "preload": False}


class _Cfg:
    """Just enough of gunicorn's Config to record what serve sets."""

    def set(self, name: str, value: Any) -> None:
        setattr(self, name, [value] if name == "bind" else value)


def test_commands_are_on_the_threadbot_group() -> None:
    from agent.cli import cli

    assert "serve" in cli.commands and "admin" in cli.commands
