"""The turn gate: a few turns at once, the rest in arrival order, emergencies never wait."""

from __future__ import annotations

import asyncio
from typing import List

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.admission import Busy, TurnGate, is_emergency, turn_gate
from knowledge.config import Settings


def _gate(limit: int, max_wait: float = 5.0) -> TurnGate:
    return TurnGate(limit, lambda text: text.startswith("URGENT"), max_wait)


async def _run_many(gate: TurnGate, texts: List[str]) -> dict:
    started: List[str] = []
    running = {"now": 0, "most": 0}
    release = asyncio.Event()

    async def turn(text: str) -> str:
        started.append(text)
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await release.wait()
        running["now"] -= 1
        return text

    tasks = []
    for text in texts:
        tasks.append(asyncio.ensure_future(gate.run(text, lambda t=text: turn(t))))
        await asyncio.sleep(0)  # arrivals in this order
    await asyncio.sleep(0.01)
    before_release = list(started)
    release.set()
    results = await asyncio.gather(*tasks)
    return {"started": started, "before": before_release, "most": running["most"], "out": results}


def test_at_most_limit_turns_run_and_the_rest_start_in_arrival_order() -> None:
    texts = [f"q{i}" for i in range(8)]
    seen = asyncio.run(_run_many(_gate(3), texts))
    assert seen["before"] == ["q0", "q1", "q2"]
    assert seen["most"] == 3
    assert seen["started"] == texts
    assert seen["out"] == texts


def test_an_emergency_starts_at_once_while_the_gate_is_full() -> None:
    seen = asyncio.run(_run_many(_gate(1), ["q0", "q1", "URGENT chest pain", "q2"]))
    assert sorted(seen["before"]) == ["URGENT chest pain", "q0"]
    assert [text for text in seen["started"] if text.startswith("q")] == ["q0", "q1", "q2"]


def test_a_limit_of_zero_lets_every_turn_run() -> None:
    seen = asyncio.run(_run_many(_gate(0), [f"q{i}" for i in range(6)]))
    assert seen["most"] == 6


def test_a_negative_limit_or_a_wait_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        _gate(-1)
    with pytest.raises(ValueError, match="positive"):
        _gate(1, max_wait=0)


def test_a_turn_starts_without_a_slot_after_the_longest_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = _gate(1, max_wait=0.1)
    stuck = asyncio.Event()

    async def main() -> List[str]:
        async def hang() -> str:
            await stuck.wait()
            return "stuck"

        async def quick() -> str:
            return "quick"

        holder = asyncio.ensure_future(gate.run("q0", hang))
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        got = await asyncio.wait_for(gate.run("q1", quick), timeout=2)
        waited = loop.time() - started
        assert 0.09 <= waited < 1.0, waited
        stuck.set()
        return [got, await holder]

    assert asyncio.run(main()) == ["quick", "stuck"]
    assert "turn gate: no slot for 0.1 s; the turn starts anyway" in caplog.text


def test_a_turn_that_fails_frees_its_slot() -> None:
    gate = _gate(1)

    async def fail() -> None:
        raise RuntimeError("boom")

    async def main() -> str:
        with pytest.raises(RuntimeError):
            await gate.run("q", fail)

        async def ok() -> str:
            return "ok"

        return await asyncio.wait_for(gate.run("q", ok), timeout=1)

    assert asyncio.run(main()) == "ok"


def test_wrap_passes_the_message_through_and_each_loop_gets_its_own_slots() -> None:
    settings = Settings.from_env({"FAQBOT_MAX_CONCURRENT_TURNS": "2"})
    gate = turn_gate(settings)
    assert turn_gate(Settings.from_env({"FAQBOT_MAX_CONCURRENT_TURNS": "2"})) is gate
    assert gate.limit == 2 and gate.max_wait == settings.action_timeout
    got: List[str] = []

    async def on_new_message(message: UserMessage) -> None:
        got.append(message.text or "")

    wrapped = gate.wrap(on_new_message)
    asyncio.run(wrapped(UserMessage("first")))
    asyncio.run(wrapped(UserMessage("second")))  # a new event loop
    assert got == ["first", "second"]


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("I have crushing chest pain", True),
        ("what are exosomes", False),
        ("should I stop my insulin", False),  # medical advice waits its turn like any question
    ],
)
def test_emergencies_are_recognised_by_the_red_flag_screen(text: str, urgent: bool) -> None:
    assert is_emergency(text) is urgent


def test_past_the_queue_bound_a_turn_is_refused_at_once_but_an_emergency_is_not() -> None:
    async def scenario() -> List[str]:
        gate = TurnGate(1, lambda text: text.startswith("URGENT"), 5.0, max_queued=2)
        release = asyncio.Event()
        outcomes: List[str] = []

        async def turn(text: str) -> None:
            await release.wait()
            outcomes.append(text)

        async def send(text: str) -> None:
            try:
                await gate.run(text, lambda: turn(text))
            except Busy:
                outcomes.append(f"busy {text}")

        tasks = []
        for text in ["q0", "q1", "q2", "q3", "URGENT q4", "q5"]:
            tasks.append(asyncio.ensure_future(send(text)))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        refused = list(outcomes)
        release.set()
        await asyncio.gather(*tasks)
        return refused

    # q0 runs, q1 and q2 wait, q3 and q5 are refused at once; the emergency is never refused.
    assert asyncio.run(scenario()) == ["busy q3", "busy q5"]
