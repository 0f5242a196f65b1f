"""Shared fixtures: the real knowledge index and embedding model, loaded once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from knowledge.config import Settings
from knowledge.embedding import Embedder, shared_embedder
from knowledge.service import FaqService
from knowledge.sources import KnowledgeBase, load_knowledge_base
from tests.databases import fresh_database
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env({})


@pytest.fixture(scope="session")
def kb(settings: Settings) -> KnowledgeBase:
    return load_knowledge_base(settings.sources_dir)


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return shared_embedder(settings.model_path, threads=2)


@pytest.fixture(scope="session")
def service(settings: Settings, embedder: Embedder) -> FaqService:
    """The FAQ service over the project's built index (``make test`` builds it first)."""
    return FaqService(settings, embedder=embedder).warm_up()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh handoff database: a SQLite file, then a schema in the running PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A real webhook receiver on a loopback port."""
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()
