"""Operator commands: `threadbot doctor` and `threadbot ops write-env`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from agent.context import AppContext, pass_app
from agent.ops.doctor import run_checks
from agent.settings import SettingsError

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


@click.command("doctor")
@click.option("--quick", is_flag=True, help="Check model folders exist without loading them.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@pass_app
def doctor(app: AppContext, quick: bool, as_json: bool) -> None:
    """Check settings, database, migrations, bot files, models and X credentials.

    Prints one line per check and what to do about each problem; exits 1 if anything failed.
    """
    try:
        settings = app.settings
    except SettingsError as exc:
        click.echo(f"FAIL settings: {exc}", err=True)
        raise SystemExit(1) from None
    findings = run_checks(settings, load_models=not quick)
    failed = [f for f in findings if f.status == "fail"]
    if as_json:
        click.echo(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        click.echo("ok   settings: every THREADBOT_* value is valid")
        for finding in findings:
            click.echo(f"{_MARK[finding.status]} {finding.check}: {finding.message}")
            if finding.fix and finding.status in ("fail", "warn"):
                click.echo(f"     fix: {finding.fix}")
        click.echo(f"{len(failed)} problem(s) found" if failed else "all checks passed")
    if failed:
        raise SystemExit(1)


@click.group("ops")
def ops_group() -> None:
    """Server set-up helpers used by deploy/ (docs/deploy.md)."""


@ops_group.command("write-env")
@click.option("--ssm-path", default=None, help="Read every parameter under this SSM path.")
@click.option("--db-secret-arn", default=None, help="RDS-managed secret to build the DB URL from.")
@click.option("--db-host", default=None, help="Database host (with --db-secret-arn).")
@click.option("--db-port", default="5432", show_default=True, help="Database port.")
@click.option("--db-name", default="threadbot", show_default=True, help="Database name.")
@click.option(
    "--set",
    "defaults",
    multiple=True,
    metavar="KEY=VALUE",
    help="A default value; SSM parameters of the same name win. Repeatable.",
)
@click.option(
    "--secret-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Without THREADBOT_SECRET_KEY in SSM, use the key in this file (made once if absent).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (mode 0600).",
)
def write_env(
    ssm_path: str | None,
    db_secret_arn: str | None,
    db_host: str | None,
    db_port: str,
    db_name: str,
    defaults: tuple[str, ...],
    secret_key_file: Path | None,
    out: Path,
) -> None:
    """Write the server's settings file from defaults, SSM parameters and the RDS secret.

    Prints the names it wrote, never the values.
    """
    from agent.ops.envfile import (
        EnvFileError,
        database_url_from_secret,
        from_ssm,
        render,
        write_private,
    )

    values: dict[str, str] = {}
    for item in defaults:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        values[key] = value
    if ssm_path or db_secret_arn:
        import boto3  # only here: the rest of threadbot never needs AWS

    if ssm_path:
        values.update(from_ssm(ssm_path, boto3.client("ssm")))
    if db_secret_arn and "THREADBOT_DATABASE_URL" not in values:
        if not db_host:
            raise click.UsageError("--db-secret-arn needs --db-host")
        values["THREADBOT_DATABASE_URL"] = database_url_from_secret(
            db_secret_arn, db_host, db_port, db_name, boto3.client("secretsmanager")
        )
    if secret_key_file and "THREADBOT_SECRET_KEY" not in values:
        # One machine needs no shared key; a key kept on disk keeps sessions valid across reboots.
        if not secret_key_file.exists():
            import secrets

            write_private(secret_key_file, secrets.token_hex(32) + "\n")
        values["THREADBOT_SECRET_KEY"] = secret_key_file.read_text("utf-8").strip()
    try:
        write_private(out, render(values))
    except EnvFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out}: {', '.join(sorted(values)) or 'nothing'}")
