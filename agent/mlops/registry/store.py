"""Model versions on local disk or S3: push a model folder, list versions, pull one back verified.

Layout under the store's root: ``<kind>/<version>/<files...>`` and
``<kind>/<version>/MANIFEST.json`` listing every file with its size and sha256. The manifest is
written last, so a version whose upload died halfway is invisible, and every pulled file is
checked against it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

MANIFEST = "MANIFEST.json"
# Kinds and versions become path segments and S3 keys: keep them boring so none can escape.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StorageError(RuntimeError):
    """A store cannot be opened, a version is missing, or a pulled file fails its check."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a model version: its path inside the version, size and sha256."""

    path: str
    size: int
    sha256: str


def check_name(what: str, value: str) -> str:
    """Return ``value`` if it is a safe kind or version name, else raise ``StorageError``."""
    if not _NAME.match(value):
        raise StorageError(
            f"{what} {value!r} must be letters, digits, '.', '_' or '-' (at most 128, no '/')"
        )
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan(folder: Path) -> list[FileEntry]:
    """Every file under ``folder`` (links followed), sorted, with size and sha256."""
    if not folder.is_dir():
        raise StorageError(f"{folder} is not a folder")
    entries = [
        FileEntry(p.relative_to(folder).as_posix(), p.stat().st_size, _sha256(p))
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]
    if not entries:
        raise StorageError(f"{folder} has no files to store")
    return entries


def _manifest_text(entries: list[FileEntry]) -> str:
    files = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in entries]
    return json.dumps({"files": files}, indent=2) + "\n"


def _parse_manifest(text: str, where: str) -> list[FileEntry]:
    """The manifest's entries, refusing paths that would land outside the version folder."""
    try:
        raw: Any = json.loads(text)
        entries = [
            FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in raw["files"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"{where} is not a valid manifest ({exc})") from None
    for entry in entries:
        parts = PurePosixPath(entry.path).parts
        if not parts or entry.path.startswith("/") or ".." in parts or "\\" in entry.path:
            raise StorageError(f"{where} lists an unsafe path {entry.path!r}")
    return entries


def _verify(entries: list[FileEntry], folder: Path) -> None:
    for entry in entries:
        path = folder / entry.path
        if path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
            raise StorageError(f"{entry.path} does not match its manifest (corrupt or changed)")


def _install(staging: Path, dest: Path) -> Path:
    """Move a verified ``staging`` folder to ``dest`` in one rename, so readers never see half."""
    if dest.exists():
        raise StorageError(f"{dest} already exists; pull into a new folder per version")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(dest)
    return dest


class ModelStore(Protocol):
    """Where model versions live; see the module docstring for the layout."""

    def push(self, kind: str, version: str, source: Path) -> list[FileEntry]: ...

    def pull(self, kind: str, version: str, dest: Path) -> Path: ...

    def versions(self, kind: str) -> list[str]: ...

    def describe(self) -> str: ...


class LocalStore:
    """A store in a folder: the default, and what a single machine needs."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def push(self, kind: str, version: str, source: Path) -> list[FileEntry]:
        """Copy ``source`` in as ``kind``/``version``; an existing version is never overwritten."""
        target = self.root / check_name("kind", kind) / check_name("version", version)
        entries = scan(source)
        if (target / MANIFEST).exists():
            raise StorageError(f"{kind} version {version} is already in {self.describe()}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
        for entry in entries:
            (staging / entry.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / entry.path, staging / entry.path)
        (staging / MANIFEST).write_text(_manifest_text(entries), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)  # leftovers of a push that died before MANIFEST
        staging.rename(target)
        return entries

    def pull(self, kind: str, version: str, dest: Path) -> Path:
        """Copy ``kind``/``version`` to the new folder ``dest``, checking every file."""
        source = self.root / check_name("kind", kind) / check_name("version", version)
        if not (source / MANIFEST).is_file():
            raise StorageError(f"{kind} version {version} is not in {self.describe()}")
        entries = _parse_manifest((source / MANIFEST).read_text("utf-8"), str(source / MANIFEST))
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            for entry in entries:
                (staging / entry.path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / entry.path, staging / entry.path)
            _verify(entries, staging)
            return _install(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def versions(self, kind: str) -> list[str]:
        """Complete versions of ``kind``, sorted by name."""
        folder = self.root / check_name("kind", kind)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file())


class S3Store:
    """A store in an S3 bucket under a prefix; the EC2 instance role grants access (deploy/)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3  # here, not at the top: only S3 users pay for importing boto3

            client = boto3.client("s3")
        self.client = client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def push(self, kind: str, version: str, source: Path) -> list[FileEntry]:
        """Upload ``source`` as ``kind``/``version``, manifest last; never overwrites a version."""
        base = self._key(check_name("kind", kind), check_name("version", version))
        entries = scan(source)
        if self._exists(f"{base}/{MANIFEST}"):
            raise StorageError(f"{kind} version {version} is already in {self.describe()}")
        for entry in entries:
            # upload_file switches to multipart for big checkpoints and retries parts itself.
            self.client.upload_file(str(source / entry.path), self.bucket, f"{base}/{entry.path}")
        body = _manifest_text(entries).encode("utf-8")
        self.client.put_object(Bucket=self.bucket, Key=f"{base}/{MANIFEST}", Body=body)
        return entries

    def pull(self, kind: str, version: str, dest: Path) -> Path:
        """Download ``kind``/``version`` into the new folder ``dest``, checking every file."""
        base = self._key(check_name("kind", kind), check_name("version", version))
        if not self._exists(f"{base}/{MANIFEST}"):
            raise StorageError(f"{kind} version {version} is not in {self.describe()}")
        text = self.client.get_object(Bucket=self.bucket, Key=f"{base}/{MANIFEST}")["Body"].read()
        entries = _parse_manifest(text.decode("utf-8"), f"{self.describe()}/{kind}/{version}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            for entry in entries:
                target = staging / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                self.client.download_file(self.bucket, f"{base}/{entry.path}", str(target))
            _verify(entries, staging)
            return _install(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def versions(self, kind: str) -> list[str]:
        """Complete versions of ``kind`` (those with a manifest), sorted by name."""
        base = self._key(check_name("kind", kind)) + "/"
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        ):
            for item in page.get("Contents", []):
                rest = item["Key"].removeprefix(base).split("/")
                if len(rest) == 2 and rest[1] == MANIFEST:
                    found.append(rest[0])
        return sorted(found)


def open_store(url: str, client: Any = None) -> ModelStore:
    """The store at ``url``: ``s3://bucket/prefix`` or a local folder path."""
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise StorageError(f"{url!r} names no bucket (expected s3://bucket/prefix)")
        return S3Store(bucket, prefix, client=client)
    if "://" in url:
        raise StorageError(f"{url!r}: a model store is a folder or s3://bucket/prefix")
    return LocalStore(Path(url))
