"""The Rasa server's calls to the action server: timeout, response check, kept connections."""

from __future__ import annotations

import asyncio
from typing import Iterator, List, Tuple

import jsonschema
import pytest
import rasa.core.actions.action as rasa_actions
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.server import tune_rasa_server
from knowledge.config import Settings


@pytest.fixture(autouse=True)
def configured() -> Iterator[None]:
    """What every channel does when it is built; the default timeout is put back afterwards."""
    tune_rasa_server(4.0)
    yield
    tune_rasa_server(Settings().action_timeout)


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
    tune_rasa_server(4.0)
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
