"""Generated hostile input against the running REST channel: never a 5xx, the server stays up.

Hypothesis sends 5,000 bodies: raw bytes (invalid UTF-8, truncated JSON), JSON of every shape,
and well-formed messages with odd text (control characters, huge, emoji, right-to-left marks).
The well-formed ones come from a few senders, so after their first turns the rate limit answers
quickly and the run stays short; the server's memory is checked before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.stack import Stack
from tests.integration.chat import kinds, say

EXAMPLES = 5000
SENDERS = ["fuzz-a", "fuzz-b", "fuzz-c"]
MAX_RSS_GROWTH_MB = 150

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
odd_text = st.text(max_size=300) | st.text(
    alphabet=st.sampled_from(["\x00", "\x1b", "\u202e", "\ufeff", "🙂", "a", " ", "\n"]),
    max_size=3000,
)
messages = st.fixed_dictionaries(
    {"sender": st.sampled_from(SENDERS), "message": odd_text},
    optional={"metadata": json_values},
).map(lambda body: json.dumps(body).encode())
bodies = st.one_of(
    st.binary(max_size=2000),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(
        st.sampled_from(["sender", "message", "metadata"]), json_values, max_size=3
    ).map(lambda body: json.dumps(body).encode()),
    messages,
)


def rss_mb(stack: Stack) -> float:
    status = Path(f"/proc/{stack.procs['rasa'].pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.integration
def test_generated_bodies_never_break_the_rest_channel(stack: Stack) -> None:
    session = requests.Session()
    statuses: dict = {}
    # Prime caches and allocators first, so the memory check measures the fuzz run itself.
    say(stack, "what are exosomes")
    before = rss_mb(stack)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies)
    def post(body: bytes) -> None:
        reply = session.post(
            stack.rest_url,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        assert reply.status_code in (200, 400), (reply.status_code, reply.text[:300])
        if reply.status_code == 400:
            assert set(reply.json()) == {"error"}
            assert "Traceback" not in reply.text
        else:
            assert isinstance(reply.json(), list) and reply.json()

    # Regressions: a lone surrogate in the sender made Rasa's SQL tracker store exit the server;
    # a sender of only control characters fell into Rasa's shared "default" conversation.
    for body in (
        b'{"sender": "\\ud800", "message": "hi"}',
        b'{"sender": "\\u0000", "message": "hi"}',
    ):
        reply = session.post(stack.rest_url, data=body, timeout=30)
        assert reply.status_code == 400 and "sender" in reply.json()["error"]
    surrogate = json.dumps({"sender": "fuzz-a", "message": "\ud800 what are exosomes"})
    assert session.post(stack.rest_url, data=surrogate.encode(), timeout=30).status_code == 200

    post()
    assert sum(statuses.values()) >= EXAMPLES
    assert statuses.get(200) and statuses.get(400), statuses
    assert rss_mb(stack) - before < MAX_RSS_GROWTH_MB
    assert kinds(say(stack, "what are exosomes"))[-1] == "answer"
