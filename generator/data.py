"""Conversation corpora: one plain record type and a loader per supported source format."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

from generator.errors import CorpusError
from nlu.stance_data import STANCES

# chitchat-dataset prompts about computers, the internet and AI carry this topic label.
AI_TOPIC = "ai"
GENERAL_TOPIC = "general"
_AI_PROMPT_WORDS = ("computer", "artificial intelligence", "internet")
# Words that mark a reply as on-topic (the on-topic rate) or select conversations by keyword.
TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    AI_TOPIC: (
        "ai",
        "artificial",
        "intelligence",
        "intelligent",
        "computer",
        "computers",
        "robot",
        "robots",
        "machine",
        "machines",
        "internet",
        "program",
        "programmed",
        "software",
        "technology",
        "tech",
        "algorithm",
        "code",
        "digital",
        "online",
        "sentient",
        "android",
        "jarvis",
        "hal",
        "siri",
        "alexa",
        "chatbot",
        "bot",
        "bots",
        "data",
    ),
}


@dataclass(frozen=True)
class Conversation:
    """One thread: turns oldest first, speakers alternating; the source's split if it has one."""

    id: str
    turns: tuple[str, ...]
    topic: str | None = None
    split: str | None = None  # "train" or "validation" when the source fixes it
    # The side the thread takes on its topic (favor, against, none), where `generator
    # collect` labelled it with the NLU's stance classifier.
    stance: str | None = None


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def load_chitchat() -> list[Conversation]:
    """All of the ``chitchat-dataset`` package; messages in a row by one sender form one turn."""
    # Read the package's JSON ourselves: chitchat_dataset.Dataset() leaves the file open.
    raw = resources.files("chitchat_dataset").joinpath("dataset.json").read_text(encoding="utf-8")
    out = []
    for key, conv in json.loads(raw).items():
        # A backslash in this dataset is a line break its export left behind ("what is your
        # favorite video game?\", "thats great \how was it?"), never text: a space instead.
        turns = tuple(
            " ".join(m["text"].replace("\\", " ") for m in group) for group in conv["messages"]
        )
        prompt = (conv.get("prompt") or "").lower()
        topic = AI_TOPIC if any(w in prompt for w in _AI_PROMPT_WORDS) else GENERAL_TOPIC
        out.append(Conversation(id=f"chitchat-{key}", turns=turns, topic=topic))
    return out


def load_jsonl(path: Path) -> list[Conversation]:
    """Threaded JSONL, one ``{"topic", "turns": [...]}`` a line (also DailyDialog, bot logs).

    Optional keys: ``id``, ``split`` ("train"/"validation") and ``approved`` (a reviewed bot
    log line with ``"approved": false`` is skipped, so only reviewed turns train the model).
    """
    out = []
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                turns = rec["turns"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                msg = f"{path}:{lineno}: expected {{'topic', 'turns': [...]}}: {exc}"
                raise CorpusError(msg) from exc
            if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
                raise CorpusError(f"{path}:{lineno}: 'turns' must be a list of strings")
            if rec.get("approved") is False:
                continue
            split, stance = rec.get("split"), rec.get("stance")
            if stance is not None and stance not in STANCES:
                raise CorpusError(
                    f"{path}:{lineno}: 'stance' must be one of {', '.join(STANCES)}, not {stance!r}"
                )
            out.append(
                Conversation(
                    id=str(rec.get("id", f"{path.name}-{lineno}")),
                    turns=tuple(turns),
                    topic=rec.get("topic"),
                    split={"valid": "validation", "val": "validation"}.get(split, split),
                    stance=stance,
                )
            )
    return out


def on_side(convs: Sequence[Conversation], side: str, source: str) -> list[Conversation]:
    """The conversations of ``source`` that take ``side``; a corpus nobody labelled is an
    error that says how to label it, rather than an empty selection."""
    if not any(c.stance is not None for c in convs):
        raise CorpusError(
            f"{source} has no stance labels: collect it with `threadbot generator collect` "
            "(which labels each thread with the NLU's stance classifier)"
        )
    return [c for c in convs if c.stance == side]


def load_tsv(path: Path) -> list[Conversation]:
    """TSV pairs: ``message<TAB>reply`` or ``message<TAB>reply<TAB>topic``, one pair a line."""
    out = []
    with _open_text(path) as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not any(row):
                continue
            if len(row) not in (2, 3):
                raise CorpusError(f"{path}:{lineno}: expected 2 or 3 tab-separated columns")
            topic = row[2] if len(row) == 3 and row[2] else None
            out.append(Conversation(f"{path.name}-{lineno}", (row[0], row[1]), topic))
    return out


def load_twitter_threads(path: Path) -> list[Conversation]:
    """The Twitter thread corpus: one tweet a line, threads separated by blank lines."""
    out: list[Conversation] = []
    turns: list[str] = []
    with _open_text(path) as fh:
        for line in [*fh, ""]:
            text = line.strip()
            if text:
                turns.append(text)
            elif turns:
                out.append(Conversation(f"{path.name}-{len(out)}", tuple(turns), "twitter"))
                turns = []
    return out


def load_customer_care(path: Path) -> list[Conversation]:
    """IBM customer-care threads (JSON list); the company name is the topic."""
    with _open_text(path) as fh:
        items = json.load(fh)
    out = []
    for n, item in enumerate(items):
        turns = tuple(t["message"] for t in item["dialogContent"] if t.get("message"))
        company = item.get("dialogHeader", {}).get("company")
        out.append(Conversation(f"{path.name}-{n}", turns, company))
    return out


def load_corpus(source: str | Path) -> list[Conversation]:
    """Load by name (``chitchat``) or by file: .jsonl[.gz], .tsv, .txt (threads), .json (IBM).

    A directory holding ``train.jsonl.gz`` and ``validation.jsonl.gz`` (what ``generator
    prepare`` writes) loads both, each conversation marked with its split.
    """
    if str(source) == "chitchat":
        return load_chitchat()
    path = Path(source)
    if path.is_dir():
        parts = [path / "train.jsonl.gz", path / "validation.jsonl.gz"]
        if not all(p.exists() for p in parts):
            raise CorpusError(
                f"{path}: a prepared corpus dir needs {parts[0].name}, {parts[1].name}"
            )
        return [c for p in parts for c in load_jsonl(p)]
    if not path.exists():
        raise CorpusError(f"{path}: no such corpus file (or use the name 'chitchat')")
    name = path.name.removesuffix(".gz")
    for suffix, loader in _LOADERS.items():
        if name.endswith(suffix):
            return loader(path)
    raise CorpusError(f"{path}: unknown corpus format; use one of {', '.join(_LOADERS)}")


def write_jsonl(conversations: list[Conversation], path: Path) -> None:
    """Write conversations as threaded JSONL (gzip when the name ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for conv in conversations:
            rec = {"id": conv.id, "topic": conv.topic, "split": conv.split, "turns": conv.turns}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def iter_pairs(
    conversations: list[Conversation], context_turns: int
) -> Iterator[tuple[tuple[str, ...], str, str | None]]:
    """Yield ``(context, reply, topic)``: each turn after the first, with the turns before it."""
    for conv in conversations:
        for i in range(1, len(conv.turns)):
            yield conv.turns[max(0, i - context_turns) : i], conv.turns[i], conv.topic


_LOADERS = {
    ".jsonl": load_jsonl,
    ".tsv": load_tsv,
    ".txt": load_twitter_threads,
    ".json": load_customer_care,
}
