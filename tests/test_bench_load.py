"""The load generator against a tiny local HTTP server, the reply judge and the message mix."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Awaitable, Callable, List, Tuple

import pytest
from aiohttp import web

from bench.conversations import GOODBYES, SHAPE, ConversationMix, turn_bands
from bench.load import LoadClient, RunResult, Turn, judge_reply
from bench.procs import process_tree, status_kib
from bench.runner import long_summary


def test_reply_judge() -> None:
    ok = json.dumps([{"text": "hi", "custom": {"schema": "faqbot/1", "kind": "chitchat"}}]).encode()
    assert judge_reply(200, ok, True) == (None, ("chitchat",))
    down = json.dumps([{"custom": {"schema": "faqbot/1", "kind": "unavailable"}}]).encode()
    assert judge_reply(200, down, True)[0] == "reply unavailable"
    assert judge_reply(500, b"", True)[0] == "http 500"
    assert judge_reply(200, b"[]", True)[0] == "no reply"
    assert judge_reply(200, b"[]", False) == (None, ())
    assert judge_reply(200, b"{", False)[0] == "not json"


def test_conversations_have_the_fixed_shape_and_are_reproducible() -> None:
    first = ConversationMix(["q1", "q2", "q3"], seed=3)
    second = ConversationMix(["q1", "q2", "q3"], seed=3)
    for _ in range(5):
        a, b = first.conversation(), second.conversation()
        assert a == b
        assert tuple(m.category for m in a) == SHAPE
    with pytest.raises(ValueError):
        ConversationMix([])


async def _serve(
    webhook: Callable[[web.Request], Awaitable[web.Response]],
) -> Tuple[web.AppRunner, LoadClient]:
    """A local server answering POST /webhook with ``webhook``, and a load client for it."""
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, LoadClient(f"http://127.0.0.1:{port}/webhook", empty_is_error=True)


async def _serve_and_load(paced: bool) -> tuple:
    senders: List[str] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        senders.append(body["sender"])
        if body["message"] in GOODBYES:
            return web.json_response([{"custom": {"schema": "faqbot/1", "kind": "unavailable"}}])
        return web.json_response(
            [{"text": "ok", "custom": {"schema": "faqbot/1", "kind": "answer"}}]
        )

    runner, client = await _serve(webhook)
    mix = ConversationMix(["what are exosomes"], seed=1)
    try:
        if paced:
            result = await client.paced(mix, users=2, rate=20.0, duration=1.0)
        else:
            result = await client.closed_loop(mix, users=3, duration=0.5, warmup=0.2)
    finally:
        await runner.cleanup()
    return result, senders


def test_closed_loop_counts_turns_throughput_and_errors() -> None:
    result, senders = asyncio.run(_serve_and_load(paced=False))
    summary = result.summary()
    assert summary["messages"] > 10 and summary["throughput"] > 0
    assert summary["errors"] == sum(1 for t in result.turns if t.category == "goodbye")
    assert set(summary["error_reasons"]) <= {"reply unavailable"}
    # A new sender id per conversation: no sender sends more than the 10 turns of one.
    assert max(senders.count(s) for s in set(senders)) <= len(SHAPE)


def test_paced_load_keeps_its_rate() -> None:
    result, _ = asyncio.run(_serve_and_load(paced=True))
    assert 15 <= len(result.turns) <= 22


def test_process_memory_is_read_from_proc() -> None:
    me = os.getpid()
    assert me in process_tree(me)
    rss = status_kib(me, "VmRSS")
    assert rss is not None and rss > 1000
    assert status_kib(2**22 + 12345, "VmRSS") is None


def test_a_long_conversation_is_the_conversations_in_a_row_and_its_bands_are_tenths() -> None:
    messages = ConversationMix(["q1", "q2"], seed=4).long_conversation(25)
    assert len(messages) == 25
    assert (
        tuple(m.category for m in messages[:10])
        == SHAPE
        == tuple(m.category for m in messages[10:20])
    )
    assert turn_bands(300) == [(1, 30), (121, 150), (271, 300)]
    assert turn_bands(30) == [(1, 3), (13, 15), (28, 30)]
    assert turn_bands(5) == [(1, 1), (3, 3), (5, 5)]


def _run(latencies: List[float], failed: int = -1) -> RunResult:
    turns = [
        Turn("question", ms, "timeout" if i == failed else None, (), float(i))
        for i, ms in enumerate(latencies)
    ]
    return RunResult(1, 1.0, turns)


def test_the_long_summary_gives_band_medians_and_growth_per_bot() -> None:
    flat = _run([10.0] * 30)
    growing = _run([float(i + 1) for i in range(30)], failed=29)
    summary = long_summary({"ours": [flat, flat], "stock": [growing]}, 30)
    assert summary["bands"] == [[1, 3], [13, 15], [28, 30]]
    assert summary["ours"]["band_p50"] == [10.0, 10.0, 10.0]
    assert summary["ours"]["last_over_first"] == 1.0 and summary["ours"]["runs"] == 2
    assert summary["stock"]["band_p50"] == [2.0, 14.0, 28.5]  # turn 30 failed: 28 and 29
    assert summary["stock"]["last_over_first"] == 14.25
    assert summary["stock"]["errors"] == 1


async def _one_sender() -> List[str]:
    senders: List[str] = []

    async def webhook(request: web.Request) -> web.Response:
        senders.append((await request.json())["sender"])
        return web.json_response(
            [{"text": "ok", "custom": {"schema": "faqbot/1", "kind": "answer"}}]
        )

    runner, client = await _serve(webhook)
    try:
        messages = ConversationMix(["what are exosomes"], seed=1).long_conversation(23)
        result = await client.one_sender(messages, "long-1")
    finally:
        await runner.cleanup()
    assert len(result.turns) == 23 and not result.errors
    return senders


def test_one_sender_sends_every_turn_from_the_same_sender() -> None:
    assert asyncio.run(_one_sender()) == ["long-1"] * 23
