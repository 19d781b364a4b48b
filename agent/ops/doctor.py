"""Health checks behind `threadbot doctor`: each returns findings in plain words, never secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from agent.settings import Settings
from agent.storage import migrate
from agent.storage.db import make_engine

Status = Literal["ok", "warn", "fail", "skip"]
# Long enough for RDS across a VPC, short enough that doctor never looks hung.
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class Finding:
    """One line of the report: which check, how it went, what it saw, and what to do."""

    check: str
    status: Status
    message: str
    fix: str | None = None


def redact(url: str) -> str:
    """``url`` with any password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def _scrub(message: str, settings: Settings) -> str:
    """Drop a database password that a driver may have echoed back, and keep one line."""
    password = make_url(settings.database_url).password
    first = (message.strip().splitlines() or [""])[0][:300]
    return first.replace(str(password), "***") if password else first


def _engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        return make_engine(
            settings.database_url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
    return make_engine(settings.database_url)


def check_secret_key(settings: Settings) -> Iterator[Finding]:
    """The web session key: required to serve the web app, and long enough to resist guessing."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not key:
        yield Finding(
            "secret key",
            "warn",
            "THREADBOT_SECRET_KEY is not set: the web app will refuse to start",
            "set it to a long random value, e.g. `python -c 'import secrets; "
            "print(secrets.token_hex(32))'`",
        )
    elif len(key) < 32:
        yield Finding(
            "secret key",
            "warn",
            f"THREADBOT_SECRET_KEY is only {len(key)} characters: session cookies can be forged "
            "more easily",
            "use at least 32 random characters",
        )
    else:
        yield Finding("secret key", "ok", "THREADBOT_SECRET_KEY is set")


def check_database(settings: Settings) -> Iterator[Finding]:
    """The database answers, and its schema is exactly at this code's newest migration."""
    shown = redact(settings.database_url)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from pathlib import Path

        # Checked first because connecting would quietly create an empty file.
        if not Path(url.database).is_file():
            yield Finding(
                "database",
                "fail",
                f"no SQLite file at {url.database}",
                "run `threadbot db upgrade` to create and migrate it",
            )
            return
    engine = _engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.current_revisions(engine)
    except Exception as exc:  # any driver error means the same thing to an operator
        yield Finding(
            "database",
            "fail",
            f"cannot reach {shown}: {type(exc).__name__}: {_scrub(str(exc), settings)}",
            "check THREADBOT_DATABASE_URL, that the server runs, and the security group / "
            "pg_hba.conf allow this machine",
        )
        return
    finally:
        engine.dispose()
    yield Finding("database", "ok", f"reachable at {shown}")
    heads = migrate.head_revisions()
    known = _known_revisions()
    if current == heads:
        yield Finding("migrations", "ok", f"schema at the newest migration ({', '.join(heads)})")
    elif not current:
        yield Finding(
            "migrations",
            "fail",
            "the database is empty (no migrations applied)",
            "run `threadbot db upgrade`",
        )
    elif not current <= known:
        yield Finding(
            "migrations",
            "fail",
            f"the database is at {', '.join(sorted(current))}, which this code does not know: "
            "it was migrated by a newer release",
            "deploy that release again, or downgrade with the newer code before rolling back",
        )
    else:
        yield Finding(
            "migrations",
            "fail",
            f"the schema is behind: at {', '.join(sorted(current))}, newest is "
            f"{', '.join(sorted(heads))}",
            "run `threadbot db upgrade`",
        )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def check_bot_files(settings: Settings) -> Iterator[Finding]:
    """The dialogue script and intents file exist and agree with each other."""
    from agent.core.runtime import load_checked_script
    from agent.core.script import ScriptError
    from nlu import DataError

    try:
        script = load_checked_script(settings)
    except (ScriptError, DataError) as exc:
        shown = "; ".join(str(p) for p in exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        yield Finding("bot files", "fail", f"{shown}{more}", "run `threadbot validate`")
        return
    except OSError as exc:
        yield Finding(
            "bot files",
            "fail",
            f"cannot read the bot's files: {exc}",
            "check THREADBOT_DATA_DIR points at the folder with dialogue.yml and intents.yml",
        )
        return
    yield Finding("bot files", "ok", f"{settings.dialogue_path}: {len(script.states)} states")


def check_models(settings: Settings, load: bool = True) -> Iterator[Finding]:
    """The NLU model is present (and loads); the generator is present or knowingly absent."""
    if not settings.nlu_model.is_dir():
        yield Finding(
            "nlu model",
            "fail",
            f"no NLU model folder at {settings.nlu_model}",
            "set THREADBOT_NLU_MODEL, or pull one with `threadbot store pull nlu VERSION DEST`",
        )
    elif load:
        import nlu

        yield _loads("nlu model", settings.nlu_model, nlu.load, "pull a known-good version")
    else:
        yield Finding("nlu model", "ok", f"{settings.nlu_model} exists (not loaded: --quick)")

    if not settings.generator_model.exists():
        yield Finding(
            "generator model",
            "warn",
            f"no generator at {settings.generator_model}: fallback turns use canned lines",
        )
    elif load:
        import generator

        fix = "pull a known-good version, or remove it to use canned lines"
        yield _loads("generator model", settings.generator_model, generator.load, fix)
    else:
        yield Finding("generator model", "ok", f"{settings.generator_model} exists")


def _loads(name: str, path: Path, load: Callable[[Path], object], fix: str) -> Finding:
    """Whether the model at ``path`` loads: any failure means it is unusable, whatever
    library-specific error a broken file raises."""
    try:
        load(path)
    except Exception as exc:
        problem = f"{path} does not load: {type(exc).__name__}: {exc}"
        return Finding(name, "fail", problem, f"re-train it or {fix}")
    return Finding(name, "ok", f"{path} loads")


def check_model_store(settings: Settings) -> Iterator[Finding]:
    """The model store, when configured, can be listed with this machine's credentials."""
    if not settings.model_store:
        yield Finding("model store", "skip", "THREADBOT_MODEL_STORE not set (models from disk)")
        return
    from agent.mlops.registry.store import StorageError, open_store

    try:
        store = open_store(settings.model_store)
        found = {kind: len(store.versions(kind)) for kind in ("nlu", "generator")}
    except StorageError as exc:
        yield Finding("model store", "fail", str(exc), "fix THREADBOT_MODEL_STORE")
        return
    except Exception as exc:  # botocore raises a zoo of types for one meaning: no access
        yield Finding(
            "model store",
            "fail",
            f"cannot list {settings.model_store}: {type(exc).__name__}: {str(exc)[:200]}",
            "check the bucket name and that the instance role allows s3:ListBucket and "
            "s3:GetObject on it",
        )
        return
    counts = ", ".join(f"{n} {kind} version(s)" for kind, n in found.items())
    yield Finding("model store", "ok", f"{settings.model_store}: {counts}")


# The X credential settings, as the Twitter channel names them (agent/settings.py).
X_OAUTH1 = (
    "twitter_consumer_key",
    "twitter_consumer_secret",
    "twitter_access_token",
    "twitter_access_token_secret",
)
X_OAUTH2 = "twitter_oauth2_user_token"


def _secret(settings: Settings, name: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        return ""
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def x_whoami(settings: Settings) -> str:
    """Ask X (or the sandbox) who these credentials belong to: the cheapest authenticated call."""
    import requests
    import tweepy

    base = str(getattr(settings, "twitter_api_base", "") or "https://api.twitter.com").rstrip("/")

    class _Session(requests.Session):
        # Point tweepy at the configured API base and never wait forever on a dead network.
        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            kwargs.setdefault("timeout", CONNECT_TIMEOUT_S)
            url = url.replace("https://api.twitter.com", base, 1)
            return super().request(method, url, *args, **kwargs)

    if all(_secret(settings, n) for n in X_OAUTH1):
        keys = {name.removeprefix("twitter_"): _secret(settings, name) for name in X_OAUTH1}
        client = tweepy.Client(**keys, return_type=dict)
        user_auth = True
    else:
        # An OAuth 2.0 user token is sent as a bearer token (tweepy's documented way).
        client = tweepy.Client(bearer_token=_secret(settings, X_OAUTH2), return_type=dict)
        user_auth = False
    client.session = _Session()
    try:
        me = client.get_me(user_auth=user_auth)
    finally:
        client.session.close()
    return str(me.get("data", {}).get("username", "?"))


def check_x(
    settings: Settings, whoami: Callable[[Settings], str] | None = None
) -> Iterator[Finding]:
    """X credentials: absent (the loop stays off), incomplete, rejected, or accepted."""
    present = [n for n in X_OAUTH1 if _secret(settings, n)]
    if not present and not _secret(settings, X_OAUTH2):
        yield Finding(
            "x credentials",
            "skip",
            "no X credentials configured: the Twitter loop cannot post (the sandbox still works)",
        )
        return
    missing = [f"THREADBOT_{n.upper()}" for n in X_OAUTH1 if n not in present]
    if present and missing:
        yield Finding(
            "x credentials",
            "fail",
            f"incomplete: {', '.join(missing)} not set",
            "set all four OAuth 1.0a values from the X developer portal (docs/deploy.md)",
        )
        return
    import tweepy

    base = getattr(settings, "twitter_api_base", "https://api.twitter.com")
    try:
        name = (whoami or x_whoami)(settings)
    except tweepy.Unauthorized:
        yield Finding(
            "x credentials",
            "fail",
            f"{base} rejected the credentials (401 Unauthorized)",
            "regenerate the access token and secret in the X developer portal and update them",
        )
    except tweepy.Forbidden as exc:
        yield Finding(
            "x credentials",
            "fail",
            f"{base} refused the call (403): {str(exc)[:200]}",
            "check the app's access level and API tier",
        )
    except Exception as exc:  # network, DNS, TLS, 5xx: X is not reachable from here
        yield Finding(
            "x credentials",
            "fail",
            f"could not reach {base}: {type(exc).__name__}: {str(exc)[:200]}",
            "check outbound HTTPS from this machine and THREADBOT_TWITTER_API_BASE",
        )
    else:
        yield Finding("x credentials", "ok", f"accepted by {base}: the bot posts as @{name}")


def run_checks(settings: Settings, load_models: bool = True) -> list[Finding]:
    """Every check, in the order an operator would fix things."""
    findings: list[Finding] = []
    findings += check_secret_key(settings)
    findings += check_database(settings)
    findings += check_bot_files(settings)
    findings += check_models(settings, load=load_models)
    findings += check_model_store(settings)
    findings += check_x(settings)
    return findings
