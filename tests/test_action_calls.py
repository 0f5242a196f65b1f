"""The Rasa server's calls to the action server: timeout, response check, kept connections."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Iterator, List, Tuple

import jsonschema
import pytest
import rasa.core.actions.action as rasa_actions
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Tracker

from actions.answer import previous_question
from actions.escalation import last_bot_kind
from actions.staff import recent_turns
from bot.rasa_patches import apply_all
from bot.stores import ConfiguredTrackerStore
from knowledge.config import Settings
from tests.trackers import long_conversation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def configured() -> Iterator[None]:
    """What every channel does when it is built; the default timeout is put back afterwards."""
    apply_all(4.0)
    yield
    apply_all(Settings().action_timeout)


def test_the_action_timeout_is_the_configured_one() -> None:
    assert rasa_actions.DEFAULT_REQUEST_TIMEOUT == 4.0


def test_valid_action_responses_pass_and_invalid_ones_fail_with_rasas_hint() -> None:
    action = RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:9"))
    valid = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    assert action._validate_action_result(valid)
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server"):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result({"events": [{"no": "event key"}]})


def test_applying_twice_changes_nothing() -> None:
    validate = RemoteAction._validate_action_result
    session = EndpointConfig.session
    apply_all(4.0)
    assert RemoteAction._validate_action_result is validate
    assert EndpointConfig.session is session


async def _peers_of_three_calls() -> Tuple[List[object], List[object]]:
    peers: List[object] = []

    async def webhook(request: web.Request) -> web.Response:
        transport = request.transport
        peers.append(transport.get_extra_info("peername") if transport else None)
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        for _ in range(3):
            assert await endpoint.request(json={"next_action": "x"}, method="post") == {
                "events": [],
                "responses": [],
            }
        other = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Other": "1"})
        await other.request(json={}, method="post")
        return peers[:3], peers[3:]
    finally:
        await runner.cleanup()


def test_calls_to_one_endpoint_reuse_one_connection() -> None:
    same, other = asyncio.run(_peers_of_three_calls())
    assert len(set(same)) == 1  # Rasa alone opens a new connection per call
    assert other and other[0] not in same  # another endpoint has its own session


def _action_server_view(tracker: DialogueStateTracker, domain: Domain) -> Tuple[dict, Tracker]:
    """The body Rasa sends the action server for this tracker, and the tracker rasa-sdk makes."""
    action = RemoteAction("action_request_human", EndpointConfig("http://127.0.0.1:9"))
    body = action._action_call_format(tracker, domain)
    return body, Tracker.from_dict(json.loads(json.dumps(body))["tracker"])


def test_the_action_server_gets_the_recent_turns_and_every_slot_of_a_long_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 turns: the call carries as much as at 100, and the actions read the same things."""
    monkeypatch.setenv("FAQBOT_TRACKER_URL", f"sqlite:///{tmp_path / 'c.db'}")
    domain = Domain.load(str(ROOT / "bot" / "domain.yml"))
    store = ConfiguredTrackerStore(domain=domain)
    sizes = []
    for turns in (100, 300):
        whole = long_conversation(f"long-{turns}", turns, domain)
        asyncio.run(store.save(whole))
        window = asyncio.run(store.retrieve(f"long-{turns}"))
        assert window is not None
        body, sent = _action_server_view(window, domain)
        _, everything = _action_server_view(whole, domain)
        sizes.append(len(json.dumps(body)))
        assert len(body["tracker"]["events"]) < 100 < len(everything.events)
        assert sent.slots == everything.slots
        assert sent.get_slot("condition") == "nephropathy" and sent.get_slot("disclaimer_shown")
        assert sent.latest_message == everything.latest_message
        handoff_turns = Settings().handoff_turns
        transcript = recent_turns(sent, handoff_turns)
        assert len(transcript) == handoff_turns
        assert transcript == recent_turns(everything, handoff_turns)
        assert transcript[-1].text == f"reply {turns}" and transcript[-2].speaker == "patient"
        assert previous_question(sent) == previous_question(everything) == f"message {turns - 1}"
        assert last_bot_kind(sent) == last_bot_kind(everything) == "no_answer"
        assert sent.get_latest_input_channel() == everything.get_latest_input_channel()
    assert abs(sizes[1] - sizes[0]) < 0.02 * sizes[0]  # bounded: not three times the size
