"""`threadbot ops write-env`: SSM parameters and the RDS secret to a 0600 settings file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import cli
from agent.ops.envfile import EnvFileError, render
from agent.settings import get_settings

PASSWORD = "p@ss:w/rd$`x"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """SSM parameters and an RDS-style secret in moto's in-process fake."""
    moto = pytest.importorskip("moto", reason="moto is a dev dependency: pip install -e '.[dev]'")
    import boto3

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with moto.mock_aws():
        ssm = boto3.client("ssm")
        ssm.put_parameter(
            Name="/threadbot/prod/THREADBOT_SECRET_KEY", Value="k" * 64, Type="SecureString"
        )
        ssm.put_parameter(
            Name="/threadbot/prod/THREADBOT_LOG_LEVEL", Value="WARNING", Type="String"
        )
        ssm.put_parameter(Name="/threadbot/other/THREADBOT_LOG_LEVEL", Value="DEBUG", Type="String")
        secret = boto3.client("secretsmanager").create_secret(
            Name="rds-master",
            SecretString=json.dumps({"username": "threadbot", "password": PASSWORD}),
        )
        yield {"secret_arn": secret["ARN"]}


def test_write_env_from_ssm_and_rds_secret(aws: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "etc" / "threadbot.env"
    result = CliRunner().invoke(
        cli,
        [
            "ops", "write-env", "--ssm-path", "/threadbot/prod", "--out", str(out),
            "--db-secret-arn", aws["secret_arn"], "--db-host", "db.example.internal",
            "--set", "THREADBOT_LOG_FORMAT=json", "--set", "THREADBOT_LOG_LEVEL=INFO",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "k" * 64 not in result.output and PASSWORD not in result.output
    assert "THREADBOT_DATABASE_URL" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Read it back the way the install script does, and the way systemd-less shells do.
    env = subprocess.run(
        ["sh", "-c", f"set -a; . {out}; env"], capture_output=True, text=True, check=True
    ).stdout
    values = dict(line.split("=", 1) for line in env.splitlines() if line.startswith("THREADBOT_"))
    assert values["THREADBOT_LOG_LEVEL"] == "WARNING"  # SSM wins over --set defaults
    assert values["THREADBOT_LOG_FORMAT"] == "json"
    assert values["THREADBOT_SECRET_KEY"] == "k" * 64
    url = values["THREADBOT_DATABASE_URL"]
    assert url.startswith("postgresql://threadbot:p%40ss%3Aw%2Frd%24%60x@db.example.internal:5432/")
    from sqlalchemy.engine import make_url

    assert make_url(url).password == PASSWORD


def test_unwritable_values_named_not_shown() -> None:
    with pytest.raises(EnvFileError, match="THREADBOT_SECRET_KEY holds a quote") as info:
        render({"THREADBOT_SECRET_KEY": "it's-secret"})
    assert "it's-secret" not in str(info.value)
    with pytest.raises(EnvFileError, match="not a valid variable name"):
        render({"bad-name": "x"})


def test_write_env_defaults_only(tmp_path: Path) -> None:
    get_settings.cache_clear()
    out = tmp_path / "env"
    result = CliRunner().invoke(
        cli, ["ops", "write-env", "--set", "THREADBOT_WEB_PROXY_HOPS=1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1:] == ["THREADBOT_WEB_PROXY_HOPS='1'"]
    key_file = tmp_path / "secret_key"
    for _ in range(2):  # made once, then reused: sessions survive a re-install
        result = CliRunner().invoke(
            cli, ["ops", "write-env", "--secret-key-file", str(key_file), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert f"THREADBOT_SECRET_KEY='{key_file.read_text().strip()}'" in out.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    result = CliRunner().invoke(cli, ["ops", "write-env", "--set", "NOEQUALS", "--out", str(out)])
    assert result.exit_code == 2 and "is not KEY=VALUE" in result.output
    assert os.access(out, os.R_OK)
