"""Load generator: simulated patients on asyncio + aiohttp, against a bot's REST channel.

Each simulated user holds one conversation at a time (a new sender id per conversation) and sends
its next message as soon as the previous reply arrived (closed loop, no think time) or, for the
soak, on a fixed schedule (paced). A turn is an error when the HTTP status is not 200, the request
fails or times out, the body is not a JSON list, or (for our bot) a reply says the bot is
unavailable or rate-limited, or there is no reply at all.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import aiohttp

from bench.conversations import ConversationMix, Message
from bench.stats import summarize
from knowledge.schema import kind_of

FAILED_KINDS = ("unavailable", "rate_limited")


@dataclass(frozen=True)
class Turn:
    """One message and its reply.

    Attributes:
        category: Message category (``greet``, ``question``, ...).
        latency_ms: Request sent to reply read, in milliseconds.
        error: Why the turn failed, ``None`` when it did not.
        kinds: ``custom.kind`` of each reply message (our bot; empty for the stock bot).
        started: Seconds since the run started when the message was sent.
    """

    category: str
    latency_ms: float
    error: Optional[str]
    kinds: Tuple[str, ...]
    started: float


@dataclass
class RunResult:
    """All turns of one load run and the length of its measured window."""

    users: int
    window_s: float
    turns: List[Turn] = field(default_factory=list)
    completed_in_window: Optional[int] = None

    @property
    def errors(self) -> List[Turn]:
        """Turns that failed."""
        return [t for t in self.turns if t.error is not None]

    def latencies(self, categories: Optional[Sequence[str]] = None) -> List[float]:
        """Latencies (ms) of the successful turns, optionally only of some categories."""
        return [
            t.latency_ms
            for t in self.turns
            if t.error is None and (categories is None or t.category in categories)
        ]

    def summary(self) -> Dict[str, Any]:
        """Throughput (successful messages per second), latency percentiles and errors."""
        ok = [t for t in self.turns if t.error is None]
        out: Dict[str, Any] = dict(summarize(self.latencies()))
        done = len(ok) if self.completed_in_window is None else self.completed_in_window
        out["throughput"] = round(done / self.window_s, 3) if self.window_s > 0 else 0.0
        out["messages"] = len(self.turns)
        out["errors"] = len(self.errors)
        reasons: Dict[str, int] = {}
        for turn in self.errors:
            key = str(turn.error).split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        out["error_reasons"] = reasons
        kinds: Dict[str, int] = {}
        for turn in ok:
            for kind in turn.kinds:
                kinds[kind] = kinds.get(kind, 0) + 1
        out["reply_kinds"] = kinds
        return out


def judge_reply(
    status: int, body: bytes, empty_is_error: bool
) -> Tuple[Optional[str], Tuple[str, ...]]:
    """The error of a reply (``None`` if fine) and the ``custom.kind`` of its messages."""
    if status != 200:
        return f"http {status}", ()
    try:
        messages = json.loads(body or b"null")
    except ValueError:
        return "not json", ()
    if not isinstance(messages, list):
        return "not a list", ()
    kinds = tuple(k for m in messages if isinstance(m, dict) and (k := kind_of(m)) is not None)
    failed = [k for k in kinds if k in FAILED_KINDS]
    if failed:
        return f"reply {failed[0]}", kinds
    if empty_is_error and not messages:
        return "no reply", kinds
    return None, kinds


class LoadClient:
    """Sends conversations to one REST webhook."""

    def __init__(self, url: str, empty_is_error: bool, timeout: float = 30.0):
        """Target ``url``; ``empty_is_error`` for a bot that always answers (ours)."""
        self.url = url
        self.empty_is_error = empty_is_error
        self.timeout = timeout
        self.run_id = uuid.uuid4().hex[:8]

    async def _send(
        self, session: aiohttp.ClientSession, sender: str, message: Message, t0: float
    ) -> Turn:
        started = time.perf_counter()
        try:
            async with session.post(
                self.url, json={"sender": sender, "message": message.text}
            ) as response:
                body = await response.read()
                status = response.status
            error, kinds = judge_reply(status, body, self.empty_is_error)
        except asyncio.TimeoutError:
            error, kinds = "timeout", ()
        except aiohttp.ClientError as exc:
            error, kinds = f"client error: {type(exc).__name__}", ()
        ended = time.perf_counter()
        return Turn(message.category, (ended - started) * 1000.0, error, kinds, started - t0)

    def _session(self, users: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=users + 1),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )

    async def closed_loop(
        self, mix: ConversationMix, users: int, duration: float, warmup: float = 1.0
    ) -> RunResult:
        """``users`` patients without think time for ``warmup + duration`` seconds.

        Latencies and errors are those of the turns sent in the window, including replies that
        arrive after it ends (so slow tails are kept); throughput counts the successful replies
        that arrived within the window.
        """
        turns: List[Turn] = []
        t0 = time.perf_counter()
        window_start, window_end = warmup, warmup + duration

        async def user(uid: int, session: aiohttp.ClientSession) -> None:
            n = 0
            while time.perf_counter() - t0 < window_end:
                n += 1
                sender = f"bench-{self.run_id}-{users}u-{uid}-{n}"
                for message in mix.conversation():
                    if time.perf_counter() - t0 >= window_end:
                        return
                    turns.append(await self._send(session, sender, message, t0))

        async with self._session(users) as session:
            await asyncio.gather(*(user(u, session) for u in range(users)))
        in_window = [
            t
            for t in turns
            if t.error is None and window_start <= t.started + t.latency_ms / 1000.0 <= window_end
        ]
        measured = [t for t in turns if t.started >= window_start]
        return RunResult(users, duration, measured, len(in_window))

    async def one_sender(self, messages: Sequence[Message], sender: str) -> RunResult:
        """``messages`` from one sender, each sent as soon as the previous reply arrived."""
        turns: List[Turn] = []
        t0 = time.perf_counter()
        async with self._session(1) as session:
            for message in messages:
                turns.append(await self._send(session, sender, message, t0))
        return RunResult(1, max(time.perf_counter() - t0, 1e-9), turns)

    async def paced(
        self, mix: ConversationMix, users: int, rate: float, duration: float
    ) -> RunResult:
        """``users`` patients sending ``rate`` messages per second in total, for ``duration`` s.

        A user that falls behind sends its next message at once but never bursts to catch up.
        """
        if rate <= 0 or users < 1:
            raise ValueError("rate and users must be positive")
        turns: List[Turn] = []
        interval = users / rate
        t0 = time.perf_counter()

        async def user(uid: int, session: aiohttp.ClientSession) -> None:
            due = uid * interval / users
            n = 0
            while due < duration:
                n += 1
                sender = f"soak-{self.run_id}-{uid}-{n}"
                for message in mix.conversation():
                    delay = due - (time.perf_counter() - t0)
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if due >= duration:
                        return
                    turns.append(await self._send(session, sender, message, t0))
                    due = max(due + interval, time.perf_counter() - t0)

        async with self._session(users) as session:
            await asyncio.gather(*(user(u, session) for u in range(users)))
        return RunResult(users, max(time.perf_counter() - t0, 1e-9), turns)
