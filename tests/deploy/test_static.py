"""Static checks of deploy/: cfn-lint, shellcheck, systemd-analyze verify and nginx -t."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
TEMPLATE = DEPLOY / "threadbot.yml"
SCRIPTS = ["install.sh", "update.sh", "threadbot-cli.sh", "smoke.sh", "backup.sh"]
UNITS = sorted((DEPLOY / "systemd").glob("threadbot-*.*"))
# The long-running services; the backup service is a oneshot started by its timer.
DAEMONS = [
    DEPLOY / "systemd" / "threadbot-web.service",
    DEPLOY / "systemd" / "threadbot-twitter.service",
]
VENV_BIN = Path(sys.executable).parent


def _tool(name: str, how: str) -> str:
    """The tool's path, or skip with the command that installs it (CI must not skip: .ci/run)."""
    found = shutil.which(name, path=f"{VENV_BIN}:/usr/bin:/usr/sbin:/bin:/sbin")
    if found is None:
        reason = f"{name} is not installed here ({how})"
        # CI sets this so a missing tool fails the build instead of silently skipping a check.
        if os.environ.get("THREADBOT_REQUIRE_DEPLOY_TOOLS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (!Sub, !If...) as {"Fn::X": value}."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass


def test_cfn_lint_passes() -> None:
    cfn_lint = _tool("cfn-lint", "pip install -e '.[dev]'")
    result = subprocess.run([cfn_lint, str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_shape() -> None:
    """The promises docs/deploy.md makes about the stack, checked on the template itself."""
    doc = template()
    resources = doc["Resources"]
    ingress = resources["WebSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    open_ports = {
        rule["FromPort"] for rule in ingress if isinstance(rule, dict) and "FromPort" in rule
    }
    assert open_ports == {80, 443}  # port 22 only through the HasSsh condition
    assert resources["Database"]["Condition"] == "HasDatabase"
    assert resources["Database"]["Properties"]["ManageMasterUserPassword"] is True
    assert resources["Database"]["Properties"]["PubliclyAccessible"] is False
    assert resources["Instance"]["Properties"]["MetadataOptions"]["HttpTokens"] == "required"
    assert set(doc["Parameters"]) >= {"InstanceType", "KeyName", "DomainName", "CreateDatabase"}
    # The stack completes only after install.sh reports /readyz, once the Elastic IP is on.
    assert resources["Ready"]["Type"] == "AWS::CloudFormation::WaitCondition"
    assert set(resources["Ready"]["DependsOn"]) == {"AddressAssociation", "DataVolumeAttachment"}
    # Data outlives the instance: the volume is snapshotted, never simply deleted.
    assert resources["DataVolume"]["DeletionPolicy"] == "Snapshot"
    # No secret ever passes through the template: no password-like parameter or property.
    text = TEMPLATE.read_text()
    assert not re.search(r"^\s+MasterUserPassword:", text, re.M) and "NoEcho" not in text


def user_data() -> str:
    """The instance's boot script, with CloudFormation's ${Name} placeholders filled in."""
    sub = template()["Resources"]["Instance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    script = sub[0]
    return re.sub(r"\$\{[A-Za-z:.]+\}", "placeholder", script)


@pytest.mark.parametrize("name", [*SCRIPTS, "user-data"])
def test_shellcheck(name: str, tmp_path: Path) -> None:
    shellcheck = _tool("shellcheck", "apt-get install -y shellcheck")
    if name == "user-data":
        path = tmp_path / "user-data.sh"
        path.write_text(user_data())
    else:
        path = DEPLOY / name
    assert path.exists(), f"{path} is missing"
    result = subprocess.run(
        [shellcheck, "--severity=style", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_units_restart_on_failure_and_run_unprivileged() -> None:
    assert {u.name for u in UNITS} == {
        "threadbot-web.service",
        "threadbot-twitter.service",
        "threadbot-backup.service",
        "threadbot-backup.timer",
    }
    for unit in DAEMONS:
        text = unit.read_text()
        assert "\nRestart=on-failure\n" in text, unit.name
        assert "\nUser=threadbot\n" in text, unit.name
        assert "\nEnvironmentFile=/etc/threadbot/threadbot.env\n" in text, unit.name


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze", "apt-get install -y systemd")
    # verify checks that ExecStart's binary exists: stand-ins replace the server's venv.
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("gunicorn", "threadbot"):
        (stubs / name).write_text("#!/bin/sh\n")
        (stubs / name).chmod(0o755)
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        text = unit.read_text().replace("/opt/threadbot/venv/bin/", f"{stubs}/")
        copy.write_text(text.replace("/opt/threadbot/app/deploy/", f"{DEPLOY}/"))
        copies.append(str(copy))
    result = subprocess.run([analyze, "verify", *copies], capture_output=True, text=True)
    # Any output is a complaint (unknown key, bad value), even when the exit status is 0.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_nginx_config(tmp_path: Path) -> None:
    nginx = _tool("nginx", "apt-get install -y nginx-light")
    site = (DEPLOY / "nginx" / "threadbot.conf").read_text().replace("@SERVER_NAME@", "bot.example")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
        "events {}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_install_script_agrees_with_units_template_and_settings() -> None:
    """Paths and setting names repeated across deploy/ files must not drift apart."""
    from agent.settings import Settings

    install = (DEPLOY / "install.sh").read_text()
    assert "APP=/opt/threadbot/app\n" in install and "VENV=/opt/threadbot/venv\n" in install
    for unit in DAEMONS:
        text = unit.read_text()
        assert "WorkingDirectory=/opt/threadbot/app\n" in text
        assert "ExecStart=/opt/threadbot/venv/bin/" in text
    assert "/opt/threadbot/app/deploy/gunicorn.conf.py" in DAEMONS[0].read_text()
    assert "exec /opt/threadbot/app/deploy/install.sh" in user_data()
    assert (DEPLOY / "install.sh").stat().st_mode & 0o111, "install.sh must be executable"
    # Every THREADBOT_* default install.sh writes is a real setting.
    names = set(re.findall(r"--set \"?(THREADBOT_[A-Z0-9_]+)=", install))
    assert names >= {"THREADBOT_LOG_FORMAT", "THREADBOT_DATABASE_URL", "THREADBOT_MODEL_STORE"}
    fields = {f"THREADBOT_{name.upper()}" for name in Settings.model_fields}
    assert names <= fields, names - fields
