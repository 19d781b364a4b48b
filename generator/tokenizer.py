"""Byte-level BPE tokenizer: every string encodes, so no input fails on an unknown word."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK, BOS, EOS, SEP = "<pad>", "<unk>", "<bos>", "<eos>", "<sep>"
NO_TOPIC = "<t:none>"
SPECIALS = [PAD, UNK, BOS, EOS, SEP, NO_TOPIC]


def topic_token(topic: str | None) -> str:
    """The special token that tells the encoder which topic a conversation is about."""
    return NO_TOPIC if not topic else f"<t:{topic.strip().lower()}>"


class BPETokenizer:
    """A ``tokenizers`` byte-level BPE plus the ids the model needs; serialises to one string."""

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.pad_id = self._id(PAD)
        self.bos_id = self._id(BOS)
        self.eos_id = self._id(EOS)
        self.sep_id = self._id(SEP)
        self.no_topic_id = self._id(NO_TOPIC)
        self.special_ids = frozenset(self._id(t) for t in SPECIALS)
        # Every topic token's id, <t:none> included, in id order.
        self.topic_ids = tuple(sorted(i for t, i in tok.get_vocab().items() if t.startswith("<t:")))
        # Ids a reply may never contain: every special and topic token except <eos>.
        self.banned_ids = tuple(sorted((self.special_ids | set(self.topic_ids)) - {self.eos_id}))

    def _id(self, token: str) -> int:
        idx = self.tok.token_to_id(token)
        if idx is None:
            raise ValueError(f"tokenizer lacks the special token {token!r}")
        return idx

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, topics: Iterable[str | None] = ()
    ) -> BPETokenizer:
        """Learn merges from ``texts``; ``topics`` become special tokens of their own."""
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        topic_specials = sorted({topic_token(t) for t in topics if t} - set(SPECIALS))
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=2,
            special_tokens=SPECIALS + topic_specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @classmethod
    def from_str(cls, raw: str) -> BPETokenizer:
        """Rebuild from :meth:`to_str` output (stored in the checkpoint)."""
        return cls(Tokenizer.from_str(raw))

    def to_str(self) -> str:
        """The whole tokenizer as JSON text."""
        return self.tok.to_str()

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included."""
        return self.tok.get_vocab_size()

    def knows_topic(self, topic: str | None) -> bool:
        """Whether ``topic`` has a token of its own (not ``<t:none>``)."""
        return bool(topic) and self.tok.token_to_id(topic_token(topic)) is not None

    def topic_id(self, topic: str | None) -> int:
        """Id of the topic's token, or of ``<t:none>`` for a topic the model never saw."""
        idx = self.tok.token_to_id(topic_token(topic))
        return self.no_topic_id if idx is None else idx

    def encode(self, text: str) -> list[int]:
        """Subword ids of ``text``, without specials."""
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Subword ids of many texts at once (parallel in Rust)."""
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``, skipping specials."""
        return self.tok.decode([i for i in ids if i not in self.special_ids]).strip()

    def encode_context(self, turns: Sequence[str], topic: str | None, max_tokens: int) -> list[int]:
        """Encoder input: topic token, then turns joined by ``<sep>``; the oldest tokens go first.

        ``turns`` are already-encoded-or-not strings oldest first; when too long, the start of
        the context is dropped so the user's message always survives.
        """
        return self.context_ids([self.encode(t) for t in turns], topic, max_tokens)

    def context_ids(
        self, turn_ids: Sequence[list[int]], topic: str | None, max_tokens: int
    ) -> list[int]:
        """Like :meth:`encode_context`, from turns already encoded."""
        body: list[int] = []
        for n, ids in enumerate(turn_ids):
            if n:
                body.append(self.sep_id)
            body.extend(ids)
        return [self.topic_id(topic), *body[-(max_tokens - 1) :]]
