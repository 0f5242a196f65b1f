"""A sender over the rate limit gets a polite reply; other senders are served meanwhile."""

from __future__ import annotations

import concurrent.futures

import pytest

from knowledge.config import Settings
from scripts.stack import Stack
from tests.integration.chat import ANSWERABLE, kinds, new_sender, say, split
from tests.integration.conftest import EMERGENCY_NUMBERS

LIMIT = Settings().rate_limit


@pytest.mark.integration
def test_a_flooding_sender_is_told_to_slow_down_and_others_still_get_answers(
    stack: Stack,
) -> None:
    flooder = new_sender("flood")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        flood = [pool.submit(say, stack, "hello", flooder) for _ in range(LIMIT + 10)]
        other = say(stack, ANSWERABLE, new_sender("calm"))
        replies = [f.result() for f in flood]
    limited = [r for r in replies if kinds(r) == ["rate_limited"]]
    assert len(limited) == 10
    text, _ = split(limited[0])
    assert "faster than I can answer" in text and EMERGENCY_NUMBERS in text
    assert kinds(other)[-1] == "answer"
