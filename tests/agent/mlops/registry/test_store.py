"""Model storage on a folder and on S3 (moto's in-process fake; never real AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import cli
from agent.mlops.registry.store import LocalStore, S3Store, StorageError, open_store
from agent.settings import get_settings

BUCKET = "threadbot-models-test"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A small model folder with a nested file, like a spaCy pipeline."""
    folder = tmp_path / "model"
    (folder / "vocab").mkdir(parents=True)
    (folder / "meta.json").write_text('{"name": "tiny"}')
    (folder / "vocab" / "strings.json").write_bytes(b"\x00\x01" * 1000)
    return folder


@pytest.fixture(scope="module")
def _fake_aws() -> Iterator[Any]:
    """moto's in-process S3, started once per module (starting it costs most of a test)."""
    moto = pytest.importorskip("moto", reason="moto is a dev dependency: pip install -e '.[dev]'")
    import boto3

    with pytest.MonkeyPatch.context() as patch:
        # Fake credentials, so nothing could ever reach real AWS.
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        with moto.mock_aws():
            yield boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def s3(_fake_aws: Any) -> Iterator[Any]:
    """An empty bucket per test in the shared fake, removed afterwards."""
    _fake_aws.create_bucket(Bucket=BUCKET)
    yield _fake_aws
    for page in _fake_aws.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            _fake_aws.delete_object(Bucket=BUCKET, Key=item["Key"], VersionId=item["VersionId"])
    _fake_aws.delete_bucket(Bucket=BUCKET)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return S3Store(BUCKET, "models", client=request.getfixturevalue("s3"))


def test_push_list_pull_round_trip(store: Any, model: Path, tmp_path: Path) -> None:
    assert store.versions("nlu") == []
    entries = store.push("nlu", "v1", model)
    assert [e.path for e in entries] == ["meta.json", "vocab/strings.json"]
    store.push("nlu", "v2", model)
    assert store.versions("nlu") == ["v1", "v2"]
    assert store.versions("generator") == []
    dest = store.pull("nlu", "v1", tmp_path / "pulled" / "nlu-v1")
    assert (dest / "vocab" / "strings.json").read_bytes() == b"\x00\x01" * 1000
    assert sorted(p.name for p in dest.parent.iterdir()) == ["nlu-v1"]  # no staging leftovers


def test_versions_are_immutable_and_missing_ones_named(
    store: Any, model: Path, tmp_path: Path
) -> None:
    store.push("nlu", "v1", model)
    with pytest.raises(StorageError, match="already in"):
        store.push("nlu", "v1", model)
    with pytest.raises(StorageError, match="nlu version v9 is not in"):
        store.pull("nlu", "v9", tmp_path / "x")
    store.pull("nlu", "v1", tmp_path / "once")
    with pytest.raises(StorageError, match="already exists"):
        store.pull("nlu", "v1", tmp_path / "once")


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 200])
def test_unsafe_names_refused(store: Any, model: Path, name: str) -> None:
    with pytest.raises(StorageError, match="must be letters"):
        store.push("nlu", name, model)


def test_half_uploaded_version_is_invisible(s3: Any, model: Path) -> None:
    store = S3Store(BUCKET, "models", client=s3)
    # An upload that died before its manifest: files present, MANIFEST.json absent.
    s3.put_object(Bucket=BUCKET, Key="models/nlu/v3/meta.json", Body=b"{}")
    assert store.versions("nlu") == []
    store.push("nlu", "v1", model)
    assert store.versions("nlu") == ["v1"]


def test_corrupt_file_is_refused_and_nothing_installed(
    s3: Any, model: Path, tmp_path: Path
) -> None:
    store = S3Store(BUCKET, "", client=s3)
    store.push("generator", "v1", model)
    s3.put_object(Bucket=BUCKET, Key="generator/v1/meta.json", Body=b'{"name": "evil"}')
    with pytest.raises(StorageError, match=r"meta\.json does not match its manifest"):
        store.pull("generator", "v1", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out-*")) == []


def test_manifest_with_escaping_path_is_refused(s3: Any, tmp_path: Path) -> None:
    manifest = {"files": [{"path": "../../.bashrc", "size": 1, "sha256": "0" * 64}]}
    s3.put_object(Bucket=BUCKET, Key="nlu/v1/MANIFEST.json", Body=json.dumps(manifest).encode())
    with pytest.raises(StorageError, match="unsafe path"):
        S3Store(BUCKET, client=s3).pull("nlu", "v1", tmp_path / "out")


def test_open_store_urls(tmp_path: Path, s3: Any) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    remote = open_store(f"s3://{BUCKET}/a/b/")
    assert isinstance(remote, S3Store) and remote.describe() == f"s3://{BUCKET}/a/b"
    for bad in ("s3://", "gs://bucket"):
        with pytest.raises(StorageError):
            open_store(bad)


def test_store_commands(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()  # the group reads settings once; start from this environment
    runner = CliRunner()
    store = str(tmp_path / "store")
    result = runner.invoke(cli, ["store", "push", "--store", store, "nlu", "v1", str(model)])
    assert result.exit_code == 0, result.output
    assert "pushed nlu v1: 2 files, 2,016 bytes" in result.output
    monkeypatch.setenv("THREADBOT_MODEL_STORE", store)
    result = runner.invoke(cli, ["store", "list", "nlu"])
    assert result.output.strip() == "v1"
    result = runner.invoke(cli, ["store", "pull", "nlu", "v1", str(tmp_path / "here")])
    assert result.exit_code == 0 and (tmp_path / "here" / "meta.json").exists()
    result = runner.invoke(cli, ["store", "pull", "nlu", "v2", str(tmp_path / "there")])
    assert result.exit_code == 1 and "nlu version v2 is not in" in result.output
    monkeypatch.delenv("THREADBOT_MODEL_STORE")
    result = runner.invoke(cli, ["store", "list", "nlu"])
    assert result.exit_code == 2 and "pass --store or set THREADBOT_MODEL_STORE" in result.output
