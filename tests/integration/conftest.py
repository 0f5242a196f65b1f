"""The real bot: trained model, action server and Rasa server on free loopback ports."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from scripts.stack import Stack, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if not (ROOT / "models" / "faqbot.tar.gz").is_file():
        pytest.fail("no trained model: run the tests with 'make test'")
    with Stack(free_port(), free_port(), log_dir=ROOT / "var" / "logs" / "tests") as running:
        yield running
