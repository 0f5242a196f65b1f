"""Shared pieces of the fuzz tests of the running Rasa server's webhooks.

A fuzz test draws :class:`Case` objects (a body, headers and the statuses the channel may answer
with), posts each one and hands the reply to :class:`Tally`, which checks it (no 5xx, no stack
trace, an expected status, the server process still running) and counts statuses per kind of
input, so that a test can assert that every kind of answer actually occurred.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from knowledge.config import Settings
from scripts.stack import Stack

EXAMPLES = 5000
MAX_RSS_GROWTH_MB = 150
MAX_BODY_BYTES = Settings().max_body_bytes
# What would betray a stack trace or an internal error page in a response.
TRACE_MARKERS = ("Traceback", 'File "', "Exception", "sanic.exceptions", "site-packages")

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
# Cheaper wrong values, for the many places inside a generated structure (no recursion).
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
small_json = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
)
# JSON values that are not strings (wrong types where the channel expects text).
not_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(
        st.text(max_size=5), st.none() | st.integers() | st.text(max_size=5), max_size=2
    ),
)
ODD_CHARS = [
    "\x00",
    "\x1b",
    "\x7f",
    "\r",
    "\t",
    "\u202e",
    "\u200b",
    "\ufeff",
    "\ud800",  # lone surrogates: valid as JSON escapes, not encodable as UTF-8
    "\udfff",
    "🙂",
    "\u200d",
    "\u0301",
    "ﷺ",
    "a",
    "1",
    " ",
    "\n",
    "/",
    "{",
    '"',
    "%",
    "&",
    "=",
    "+",
]
odd_text = st.text(max_size=200) | st.text(alphabet=st.sampled_from(ODD_CHARS), max_size=2500)
# The same without lone surrogates: text that has a UTF-8 encoding (form fields, say).
UTF8_CHARS = [char for char in ODD_CHARS if not "\ud800" <= char <= "\udfff"]
odd_utf8_text = st.text(max_size=200) | st.text(alphabet=st.sampled_from(UTF8_CHARS), max_size=2500)
# Button payloads and the like: Rasa reads text starting with "/" as an intent.
PAYLOADS = [
    "/request_human",
    "/greet",
    "/no_such_intent",
    "/",
    "//",
    '/ask_question{"passage_id": "no-such-passage"}',
    '/ask_question{"passage_id": 5}',
    "/ask_question{not json",
    '/request_human{"a": [1, {"b": null}]}',
    "1",
    "99",
]
payload_text = st.sampled_from(PAYLOADS) | odd_text
# Header values requests can send: Latin-1, no line breaks, no (even Unicode) white space.
header_junk = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x85\xa0"),
    min_size=1,
    max_size=90,
)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` about four times in five, else ``bad`` (wrong values at this level)."""
    return st.one_of(good, good, good, good, bad)


def weighted(*choices: "tuple[int, st.SearchStrategy]") -> st.SearchStrategy:
    """One of the strategies, picked in proportion to its weight.

    (``st.one_of`` drifts towards the branches with the most room for novel examples.)
    """
    bounds = list(itertools.accumulate(weight for weight, _ in choices))
    strategies = [strategy for _, strategy in choices]
    pick = st.integers(0, bounds[-1] - 1)
    return pick.flatmap(lambda n: strategies[bisect.bisect_right(bounds, n)])


def huge_text(low: int, high: int) -> st.SearchStrategy[str]:
    """One repeated character, ``low`` to ``high`` times (cheap to generate, near body limits)."""
    return st.builds(
        lambda char, count: char * count,
        st.sampled_from(["a", "é", "🙂", " ", "\x00", "%"]),
        st.integers(low, high),
    )


def nested_json(depth: int, kind: str) -> bytes:
    """A JSON array or object nested ``depth`` levels deep."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


deep_json = st.builds(nested_json, st.integers(1, 40_000), st.sampled_from(["array", "object"]))


def dumps(value: object, ascii_only: bool = True) -> bytes:
    """JSON bytes; non-ASCII text raw (UTF-8) unless ``ascii_only`` or it has lone surrogates."""
    try:
        return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("utf-8")


@dataclass(frozen=True)
class Case:
    """One request to send and the statuses the channel may answer it with."""

    kind: str
    body: bytes
    headers: Dict[str, str]
    expected: FrozenSet[int]

    def describe(self) -> str:
        """A short description for failure messages (the body cut to 300 bytes)."""
        return f"{self.kind}: {self.body[:300]!r} ({len(self.body)} bytes), headers {self.headers}"


@dataclass
class Tally:
    """Checks every reply and counts statuses overall and per kind of case."""

    stack: Stack
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)

    def post(self, session: requests.Session, url: str, case: Case) -> requests.Response:
        """POST ``case`` and check the reply."""
        reply = self.send(session, "POST", url, case, timeout=30)
        self.check(case, reply)
        return reply

    def send(
        self, session: requests.Session, method: str, url: str, case: Case, timeout: float
    ) -> requests.Response:
        """Send ``case``'s body and headers; a server that stopped answering fails clearly."""
        try:
            return session.request(
                method, url, data=case.body, headers=case.headers, timeout=timeout
            )
        except requests.ConnectionError as exc:
            code = self.stack.procs["rasa"].poll()
            raise AssertionError(
                f"the Rasa server does not answer (exit code {code}; an earlier request may have"
                f" killed it, see its log): {type(exc).__name__}; now sending {case.describe()}"
            ) from None

    def check(self, case: Case, reply: requests.Response) -> None:
        """Assert that ``reply`` is a clean, expected answer to ``case`` and count it."""
        status = reply.status_code
        self.statuses[status] += 1
        self.by_kind[(case.kind, status)] += 1
        assert self.stack.procs["rasa"].poll() is None, "the Rasa server exited"
        assert status < 500, (status, reply.text[:300], case.describe())
        assert status in case.expected, (status, reply.text[:300], case.describe())
        for marker in TRACE_MARKERS:
            assert marker not in reply.text, (marker, reply.text[:300], case.describe())
        if status >= 400:
            error = reply.json()
            assert set(error) == {"error"} and isinstance(error["error"], str), reply.text[:300]

    def kinds(self, status: Optional[int] = None) -> Dict[str, int]:
        """How many cases of each kind were answered (with ``status``, if given)."""
        counts: Counter = Counter()
        for (kind, answered), count in self.by_kind.items():
            if status is None or answered == status:
                counts[kind] += count
        return dict(counts)

    def summary(self) -> str:
        """Statuses overall and per kind, for the test's output."""
        per_kind = {
            kind: {s: c for (k, s), c in sorted(self.by_kind.items()) if k == kind}
            for kind in sorted(self.kinds())
        }
        return f"statuses {dict(sorted(self.statuses.items()))}; per kind {per_kind}"


def rss_mb(stack: Stack) -> float:
    """Resident memory of the Rasa server process, in MB."""
    status = Path(f"/proc/{stack.procs['rasa'].pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def cpu_seconds(stack: Stack, name: str = "rasa") -> float:
    """CPU time (user and system) the stack's process ``name`` has used so far."""
    fields = Path(f"/proc/{stack.procs[name].pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class LogWatch:
    """What the Rasa server logged from now on (the stack's log file, when it has one)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.log_dir / "rasa.log" if stack.log_dir is not None else None
        self.start = self.path.stat().st_size if self.path and self.path.is_file() else 0

    def lines(self, *needles: str) -> List[str]:
        """The new log lines that contain any of ``needles``."""
        if self.path is None or not self.path.is_file():
            return []
        with self.path.open("rb") as log:
            log.seek(self.start)
            text = log.read().decode("utf-8", "replace")
        return [line for line in text.splitlines() if any(n in line for n in needles)]


def background_failures(watch: LogWatch, channel: str) -> List[str]:
    """Log lines of messages whose background processing failed, or whose bot run raised."""
    return watch.lines(
        f"{channel}: processing a message failed",
        f"{channel}: the bot failed on a message",
        f"/webhooks/{channel}/",  # Sanic logs unhandled exceptions with the URL
    )
