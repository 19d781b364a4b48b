"""The one settings object, read from ``THREADBOT_*`` environment variables and an optional .env."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The longest message a turn takes unless set (THREADBOT_MAX_MESSAGE_CHARS); the agent's own
# default too, so an agent built without settings (tests, benches) refuses what the bot would.
MAX_MESSAGE_CHARS = 10_000

# The keys a local X API (`threadbot sandbox`) accepts unless told otherwise, and the ones the
# client sends to a host that is not X when none are configured. Kept here, not in the sandbox,
# so the production client never imports the fake server; they open no real account anywhere.
LOCAL_X_CREDENTIALS = {
    "consumer_key": "sandbox-consumer-key",
    "consumer_secret": "sandbox-consumer-secret",
    "access_token": "sandbox-access-token",
    "access_token_secret": "sandbox-access-token-secret",
}


class SettingsError(RuntimeError):
    """Raised with one readable line per bad setting; never echoes secret values."""


class Settings(BaseSettings):
    """Everything threadbot reads from its environment, validated once at start."""

    model_config = SettingsConfigDict(
        env_prefix="THREADBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # SQLite by default so `make run` needs no server; PostgreSQL in production.
    database_url: str = "sqlite:///instance/threadbot.db"
    data_dir: Path = Path("data/bot")
    nlu_model: Path = Path("models/nlu")
    generator_model: Path = Path("models/generator")
    # MMI re-ranking of the generator's candidates (docs/generator.md): fewer generic replies,
    # about twice the decoding time; off keeps plain beam search.
    generator_rerank: bool = True
    # Retrieved human replies ranked beside the generated ones where the model folder has a
    # reply index and ranker (docs/generator.md, hybrid fallback); 0 serves the LSTM alone.
    generator_retrieve: int = Field(default=12, ge=0)
    # torch intra-op threads in a process that serves the bot. A reply is a batch of one, which
    # a second thread barely speeds up, and when another request or job holds the other core,
    # torch's threads spin against it (p50 66 ms with 1 thread, 650+ ms with 2: benchmarks.md).
    generator_threads: int = Field(default=1, ge=1)
    # Override the thresholds stored with the NLU model, each on its own; None keeps the model's.
    nlu_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    nlu_margin: float | None = Field(default=None, ge=0.0, le=1.0)
    # Overrides the script's session timeout when set.
    session_timeout_minutes: float | None = Field(default=None, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    secret_key: SecretStr | None = None
    # Turns the web chat and the CLI accept; longer text is refused with a clear message.
    max_message_chars: int = Field(default=MAX_MESSAGE_CHARS, gt=0)
    # json: one JSON object per log line (journald, CloudWatch); text: for people (docs/deploy.md).
    log_format: Literal["text", "json"] = "text"
    # Where model versions are pushed and pulled: a folder or s3://bucket/prefix (docs/deploy.md).
    model_store: str | None = None
    # Retraining (docs/retraining.md). Registered versions live in <model_dir>/<kind>/<version>,
    # dataset snapshots in <model_dir>/snapshots, training runs in <model_dir>/runs.
    model_dir: Path = Path("instance/models")  # beside the SQLite file; git ignores instance/
    # Web and Twitter processes look for a newly promoted model this often and swap it in.
    model_watch_interval_seconds: float = Field(default=30.0, gt=0)
    # A retrained generator is promoted if its held-out per-word perplexity is at most this
    # fraction worse than the active one's: reruns on the same data differ by about 1%.
    retrain_generator_margin: float = Field(default=0.02, ge=0, le=1)
    # A retrained NLU is promoted if in-scope accuracy and out-of-scope recall drop by at most this.
    retrain_nlu_margin: float = Field(default=0.01, ge=0, le=1)
    # The generator preset retraining starts from: base corpus, topic subset, optimiser.
    retrain_generator_config: Path = Path("configs/generator/finetune_ai.toml")
    # Share of reviewed pairs held out for evaluation, never trained on.
    retrain_review_holdout: float = Field(default=0.2, ge=0, lt=1)
    # Fine-tuning replays at most this many base conversations beside the reviewed ones: enough
    # to keep general chit-chat, few enough that a few dozen corrections still move the model.
    retrain_replay_conversations: int = Field(default=1000, gt=0)
    # Labelled data (intents.yml, or [text, intent] rows) both NLU models are scored on.
    retrain_nlu_eval: Path | None = None
    # Web app (docs/web.md). Behind TLS: Secure session cookies and an HSTS header.
    web_https: bool = False
    # Reverse proxies in front of the app (nginx alone = 1) whose X-Forwarded-* are trusted.
    web_proxy_hops: int = Field(default=0, ge=0, le=5)
    # Failed admin logins (per account and per address) before a lock-out, and its length.
    web_login_max_failures: int = Field(default=5, gt=0)
    web_login_lockout_seconds: int = Field(default=300, gt=0)

    # Showcase tweet cards (docs/showcase.md): the bot's @handle printed beside its name, and
    # a colour emoji font (empty: Noto Color Emoji where the system has it).
    showcase_bot_handle: str | None = Field(default=None, pattern=r"^@?\w{1,15}$")
    card_emoji_font: Path | None = None

    # `threadbot validate` warns when a transition taken from the initial state or from any
    # state has fewer reply variants than this (X refuses repeated text; docs/twitter.md).
    min_reply_variants: int = Field(default=5, ge=1)

    # Twitter channel (docs/twitter.md). OAuth 1.0a user context, or an OAuth 2.0 user token.
    twitter_consumer_key: SecretStr | None = None
    twitter_consumer_secret: SecretStr | None = None
    twitter_access_token: SecretStr | None = None
    twitter_access_token_secret: SecretStr | None = None
    twitter_oauth2_user_token: SecretStr | None = None
    # The same code talks to X or to the local sandbox (`threadbot sandbox`).
    twitter_api_base: str = "https://api.twitter.com"
    # The bot's own user id; empty asks GET /2/users/me at start.
    twitter_bot_user_id: str | None = None
    # Mentions are polled this often; sized to the tier's mentions-timeline rate limit.
    twitter_poll_interval_seconds: float = Field(default=60.0, gt=0)
    # tweepy sets no timeout: without one a stalled connection hangs the loop forever.
    twitter_request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Exponential backoff with full jitter on 5xx, timeouts and dropped connections.
    twitter_backoff_base_seconds: float = Field(default=1.0, gt=0)
    twitter_backoff_max_seconds: float = Field(default=300.0, gt=0)
    # Wait after a 429 that carries no x-rate-limit-reset header (never retry at once).
    twitter_rate_limit_wait_seconds: float = Field(default=60.0, gt=0)
    # Good citizenship: replies per user per hour, and a global token bucket for all posts.
    twitter_user_replies_per_hour: int = Field(default=10, gt=0)
    twitter_posts_per_hour: float = Field(default=100.0, gt=0)
    twitter_post_burst: int = Field(default=10, gt=0)
    # X search indexes new tweets with a delay: a reply posted this recently may not show yet.
    twitter_reconcile_grace_seconds: float = Field(default=20.0, ge=0)
    # X refuses a post repeating one of the account's recent texts: replies are varied so no
    # normalised text repeats within this many hours (posted or still waiting in the outbox).
    twitter_duplicate_window_hours: float = Field(default=24.0, gt=0)
    # When X's daily post cap held a reply this many hours, it is not sent once posting
    # resumes (recorded as too_late, the conversation as if it had not been said); 0 sends
    # every held reply however late.
    twitter_max_reply_age_hours: float = Field(default=0.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:// or postgresql:// (e.g. sqlite:///instance/threadbot.db)"
            )
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("twitter_api_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (e.g. https://api.twitter.com)")
        return value.rstrip("/")

    @property
    def dialogue_path(self) -> Path:
        return self.data_dir / "dialogue.yml"

    @property
    def intents_path(self) -> Path:
        return self.data_dir / "intents.yml"


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; bad values raise ``SettingsError`` naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "THREADBOT_" + "_".join(str(part) for part in error["loc"]).upper()
            lines.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
