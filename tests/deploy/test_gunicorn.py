"""The production gunicorn config, booted for real against PostgreSQL, answers /readyz."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import _POSTGRES_MISSING, POSTGRES_URL, ROOT

VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database (as production has one to itself), dropped afterwards."""
    if _POSTGRES_MISSING:
        if os.environ.get("THREADBOT_REQUIRE_POSTGRES"):
            pytest.fail(_POSTGRES_MISSING)
        pytest.skip(_POSTGRES_MISSING)
    name = f"tb_gunicorn_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_production_gunicorn_serves_readyz_on_postgres(database: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("web") is None or not hasattr(
        importlib.import_module("web"), "create_app"
    ):
        pytest.skip("web.create_app does not exist yet (the web app is being built)")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("THREADBOT_")},
        "THREADBOT_DATABASE_URL": database,
        "THREADBOT_DATA_DIR": str(ROOT / "data" / "bot"),
        "THREADBOT_NLU_MODEL": str(ROOT / "models" / "nlu"),
        "THREADBOT_GENERATOR_MODEL": str(tmp_path / "no-generator"),
        "THREADBOT_SECRET_KEY": "k" * 64,
        "THREADBOT_WEB_PROXY_HOPS": "1",
        "THREADBOT_LOG_FORMAT": "json",
        # Only the address differs from production: port 8000 may be taken on this machine.
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",
    }
    # The same migration step install.sh runs on the server.
    subprocess.run(
        [VENV_BIN / "alembic", "-c", ROOT / "alembic.ini", "upgrade", "head"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    # Append mode: gunicorn shares this file's offset, and the reads below seek to 0 while it
    # still writes; without O_APPEND a line written then lands over the start of the file.
    log = (tmp_path / "gunicorn.log").open("a+")
    server = subprocess.Popen(
        [VENV_BIN / "gunicorn", "-c", ROOT / "deploy" / "gunicorn.conf.py", "web:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # generous: CI machines are shared
        status, body = 0, {}
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/readyz")
                if status == 200:
                    break
            except (OSError, ValueError):
                pass  # not listening yet
            time.sleep(0.25)
        log.seek(0)
        output = log.read()
        assert status == 200, f"/readyz gave {status} {body}; gunicorn said:\n{output[-3000:]}"
        assert body["status"] == "ready"
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=30)  # graceful_timeout is 25 s
        except subprocess.TimeoutExpired:
            server.kill()
            raise
        log.seek(0)
        output = log.read()
        log.close()
    assert code == 0, output[-3000:]
    # THREADBOT_LOG_FORMAT=json: every line gunicorn and the app wrote is one JSON object.
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines), output[-3000:]
    assert "k" * 64 not in output
