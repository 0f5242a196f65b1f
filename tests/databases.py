"""Fresh databases for tests: a SQLite file, or a new schema in the running PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import psycopg2
import pytest

POSTGRES_URL = os.environ.get(
    "FAQBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@functools.lru_cache(maxsize=None)
def postgres_problem() -> str:
    """Empty when PostgreSQL answers, else why not (checked once per run)."""
    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).strip().splitlines()[0]}"
    return ""


@contextlib.contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a fresh, empty database: a SQLite file, or a new PostgreSQL schema.

    The PostgreSQL schema is dropped afterwards; the test is skipped (with the reason) when
    PostgreSQL cannot be reached.
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'handoffs.db'}"
        return
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    schema = f"handoff_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in POSTGRES_URL else "?"
        try:
            yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.close()
