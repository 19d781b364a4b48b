"""Build the server's settings file from SSM Parameter Store and the RDS-managed secret.

The file is read three ways: systemd ``EnvironmentFile=``, POSIX ``sh`` (``set -a; . file``) and
python-dotenv. Single-quoted values mean the same in all three as long as they hold no quote,
backslash or newline, so such values are refused instead of escaped.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

_KEY = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_UNSAFE = ("'", "\\", "\n", "\r", "\0")


class EnvFileError(RuntimeError):
    """A parameter cannot be written safely; the message names it, never its value."""


def from_ssm(path: str, client: Any) -> dict[str, str]:
    """Every parameter under ``path`` (SecureStrings decrypted), keyed by its last name segment."""
    prefix = path.rstrip("/") + "/"
    values: dict[str, str] = {}
    paginator = client.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix, Recursive=False, WithDecryption=True):
        for parameter in page["Parameters"]:
            values[parameter["Name"].removeprefix(prefix)] = parameter["Value"]
    return values


def database_url_from_secret(secret_arn: str, host: str, port: str, name: str, client: Any) -> str:
    """A PostgreSQL URL from the RDS-managed master secret, password percent-encoded."""
    secret = json.loads(client.get_secret_value(SecretId=secret_arn)["SecretString"])
    user = quote(str(secret["username"]), safe="")
    password = quote(str(secret["password"]), safe="")
    # sslmode=require: RDS accepts TLS by default and the VPC is not a reason to skip it.
    return f"postgresql://{user}:{password}@{host}:{port}/{name}?sslmode=require"


def render(values: dict[str, str]) -> str:
    """The file's text: one ``KEY='value'`` line per setting, sorted."""
    lines = ["# Written by `threadbot ops write-env`; edit the SSM parameters, not this file."]
    for key in sorted(values):
        if not _KEY.match(key):
            raise EnvFileError(f"{key!r} is not a valid variable name (A-Z, 0-9, _)")
        if any(bad in values[key] for bad in _UNSAFE):
            raise EnvFileError(
                f"{key} holds a quote, backslash or newline, which cannot be written"
            )
        lines.append(f"{key}='{values[key]}'")
    return "\n".join(lines) + "\n"


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` readable by its owner only, replacing it in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".env-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # before any secret is written, not after
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
