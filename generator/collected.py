"""A collected corpus on disk: append-only threaded JSONL plus a private sidecar.

The sidecar ``<file>.collect.json`` (mode 0600) holds the pseudonym salt and every conversation
already looked at, kept or not, so a second collection adds new conversations only. The JSONL
file is the truth for what was kept: each conversation's lines go out in one flushed write
before the sidecar names it, and a line torn by a crash is cut off on the next open, so a
crash at any point loses no kept conversation and writes none twice.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generator.errors import CorpusError
from generator.threads import Chain


def sidecar_path(path: Path) -> Path:
    """Where the salt and the list of conversations looked at live, next to the corpus."""
    return path.with_name(path.name + ".collect.json")


def _turn_key(turns: Sequence[str]) -> tuple[str, ...]:
    return tuple(" ".join(t.casefold().split()) for t in turns)


class CollectedCorpus:
    """Open (or start) a collected corpus; ``add`` appends one conversation's chains."""

    def __init__(self, path: Path) -> None:
        if path.suffix == ".gz":
            raise CorpusError(f"{path}: a collected corpus is appended to; use a .jsonl name")
        self.path = path
        self.sidecar = sidecar_path(path)
        state = self._read_sidecar()
        self.salt = bytes.fromhex(state.get("salt") or secrets.token_hex(16))
        self.seen: set[str] = set(state.get("conversations", []))
        self.chain_keys: set[tuple[str, ...]] = set()
        self.lines = 0
        self._recover()

    def _read_sidecar(self) -> dict[str, Any]:
        if not self.sidecar.exists():
            return {}
        try:
            state = json.loads(self.sidecar.read_text(encoding="utf-8"))
            if not isinstance(state, dict):
                raise ValueError("not a JSON object")
            bytes.fromhex(state.get("salt", ""))
            return state
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorpusError(
                f"{self.sidecar}: unreadable ({exc}); it holds the pseudonym salt, so it is "
                "not replaced: restore it, or move the corpus and its sidecar away to start over"
            ) from None

    def _recover(self) -> None:
        """Read what the file holds; cut a last line a crash left without its newline."""
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        whole = raw[: raw.rfind(b"\n") + 1]
        if len(whole) < len(raw):
            with self.path.open("r+b") as fh:
                fh.truncate(len(whole))
        try:
            text = whole.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{self.path}: not UTF-8 text ({exc})") from None
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                conversation, turns = str(rec["conversation_id"]), rec["turns"]
            except (ValueError, KeyError, TypeError) as exc:
                raise CorpusError(
                    f"{self.path}:{lineno}: not a collected corpus line ({exc}); collect into "
                    "a new file instead"
                ) from None
            self.seen.add(conversation)
            self.chain_keys.add(_turn_key(turns))
            self.lines += 1

    def add(
        self,
        conversation_id: str,
        chains: Sequence[Chain],
        topic: str,
        stance: str | None = None,
    ) -> list[Chain]:
        """Append ``chains`` (one conversation's, each labelled with the thread's ``stance``
        when given) and remember the conversation; returns the chains written, without any
        whose turns are already in the corpus."""
        fresh = []
        for chain in chains:
            key = _turn_key(chain.turns)
            if key not in self.chain_keys:
                self.chain_keys.add(key)
                fresh.append(chain)
        if fresh:
            text = "".join(
                json.dumps(c.record(n, topic, stance), ensure_ascii=False) + "\n"
                for n, c in enumerate(fresh)
            )
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            self.lines += len(fresh)
        self.seen.add(conversation_id)
        self._write_sidecar()
        return fresh

    def _write_sidecar(self) -> None:
        state = {"salt": self.salt.hex(), "conversations": sorted(self.seen)}
        tmp = self.sidecar.with_name(self.sidecar.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.sidecar)
