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
from tests.integration.chat import ANSWERABLE, kinds, say

EXAMPLES = 5000
SENDERS = ["fuzz-a", "fuzz-b", "fuzz-c"]
MAX_RSS_GROWTH_MB = 150
JSON = {"Content-Type": "application/json"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
# Typed Rasa shortcuts: plain text unless the bot's own payload; never a slot the bot's texts use.
EVIL = "+1 555 0100 (Dr Evil)"
shortcuts = st.sampled_from(
    [
        f'/emergency{{"emergency_numbers": "{EVIL}"}}',
        f'/greet{{"emergency_numbers": "{EVIL}", "crisis_lines": "{EVIL}"}}',
        f'/medical_advice{{"handoff_reference": "{EVIL}"}}',
        "/restart",
        "/session_start",
        "/emergency",
        "/greet",
        '/ask_question{"passage_id": "no-such#0000000000"}',
        "/my HbA1c is 9.1, call me on +44 7911 123456",
    ]
) | st.text(max_size=40).map(lambda tail: "/" + tail)
odd_text = (
    st.text(max_size=300)
    | st.text(
        alphabet=st.sampled_from(["\x00", "\x1b", "\u202e", "\ufeff", "🙂", "a", " ", "\n"]),
        max_size=3000,
    )
    | shortcuts
)
# Metadata as a client may send it: large, or nested deep (dropped before the store).
deep_metadata = st.integers(1, 900).map(lambda depth: _nested(depth))
big_metadata = st.integers(1, 60_000).map(lambda size: {"x": "y" * size})


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


messages = st.fixed_dictionaries(
    {"sender": st.sampled_from(SENDERS), "message": odd_text},
    optional={"metadata": json_values | deep_metadata | big_metadata},
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
            headers=JSON,
            timeout=30,
        )
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        assert reply.status_code in (200, 400), (reply.status_code, reply.text[:300])
        if reply.status_code == 400:
            assert set(reply.json()) == {"error"}
            assert "Traceback" not in reply.text
        else:
            assert isinstance(reply.json(), list) and reply.json()
            assert "Dr Evil" not in reply.text

    # Regressions: a lone surrogate in the sender made Rasa's SQL tracker store exit the server;
    # a sender of only control characters fell into Rasa's shared "default" conversation.
    for body in (
        b'{"sender": "\\ud800", "message": "hi"}',
        b'{"sender": "\\u0000", "message": "hi"}',
    ):
        reply = session.post(stack.rest_url, data=body, headers=JSON, timeout=30)
        assert reply.status_code == 400 and "sender" in reply.json()["error"]
    surrogate = json.dumps({"sender": "fuzz-a", "message": "\ud800 what are exosomes"})
    reply = session.post(stack.rest_url, data=surrogate.encode(), headers=JSON, timeout=30)
    assert reply.status_code == 200

    post()
    assert sum(statuses.values()) >= EXAMPLES
    assert statuses.get(200) and statuses.get(400), statuses
    assert rss_mb(stack) - before < MAX_RSS_GROWTH_MB
    assert kinds(say(stack, ANSWERABLE))[-1] == "answer"
