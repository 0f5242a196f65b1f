"""The rasa entry point that takes the HTTP API's JWT secret from the environment."""

from __future__ import annotations

import pytest

from knowledge.config import ConfigError, Settings
from scripts.rasa_cli import with_secret

SECRET = "a-jwt-secret-of-at-least-32-characters"


def test_the_secret_is_added_only_when_the_api_is_enabled() -> None:
    settings = Settings.from_env({"FAQBOT_ENABLE_API": "1", "FAQBOT_API_JWT_SECRET": SECRET})
    assert with_secret(["run", "--enable-api"], settings) == [
        "run",
        "--enable-api",
        "--jwt-secret",
        SECRET,
    ]
    assert with_secret(["run"], settings) == ["run"]
    given = ["run", "--enable-api", "--jwt-secret", "x" * 32]
    assert with_secret(given, settings) == given


def test_an_enabled_api_without_a_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="FAQBOT_API_JWT_SECRET"):
        with_secret(["run", "--enable-api"], Settings.from_env({}))
