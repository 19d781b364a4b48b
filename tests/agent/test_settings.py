from __future__ import annotations

import pytest

from agent.settings import SettingsError, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADBOT_DATABASE_URL", raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.dialogue_path.name == "dialogue.yml"
    assert settings.nlu_threshold is None


def test_plain_postgresql_url_uses_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_DATABASE_URL", "postgresql://bot@db/threadbot")
    assert load_settings().database_url == "postgresql+psycopg://bot@db/threadbot"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("THREADBOT_DATABASE_URL", "mysql://x", "must start with sqlite:// or postgresql://"),
        ("THREADBOT_NLU_THRESHOLD", "1.5", "less than or equal to 1"),
        ("THREADBOT_NLU_MARGIN", "much", "valid number"),
        ("THREADBOT_SESSION_TIMEOUT_MINUTES", "0", "greater than 0"),
        ("THREADBOT_GENERATOR_THREADS", "0", "greater than or equal to 1"),
        ("THREADBOT_LOG_LEVEL", "chatty", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert variable in str(error.value)
    assert message in str(error.value)


def test_errors_never_echo_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADBOT_SECRET_KEY", "hunter2-very-secret")
    monkeypatch.setenv("THREADBOT_NLU_THRESHOLD", "2")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "hunter2" not in str(error.value)
    monkeypatch.delenv("THREADBOT_NLU_THRESHOLD")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "hunter2-very-secret"
