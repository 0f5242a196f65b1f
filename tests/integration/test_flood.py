"""Floods from one client (behind a trusted proxy) against a real stack with the default limits.

A flood of fake emergencies from distinct senders on one IP must not bury a real one or page
staff hundreds of times, and one client sending long messages as fast as it can must not make
everyone else wait.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import requests

from handoffs.store import HandoffStore
from scripts.stack import Stack, free_port
from tests.integration.chat import ANSWERABLE
from tests.receivers import WebhookReceiver, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FLOOD = 300
NEW_CONVERSATIONS_PER_CLIENT = 10


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    made = WebhookReceiver().start()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> Iterator[Tuple[Stack, HandoffStore]]:
    scratch = tmp_path_factory.mktemp("flood")
    database = f"sqlite:///{scratch / 'handoffs.db'}"
    env = {
        "DATABASE_URL": database,
        "FAQBOT_TRACKER_URL": f"sqlite:///{scratch / 'conversations.db'}",
        "FAQBOT_WEBHOOK_URL": receiver.url,
        "FAQBOT_NOTIFY_RETRY_BASE": "0.5",
        "FAQBOT_TRUSTED_PROXIES": "127.0.0.1",  # the test's requests come "through a proxy"
        "FAQBOT_NEW_CONVERSATIONS_PER_CLIENT": str(NEW_CONVERSATIONS_PER_CLIENT),
        "FAQBOT_REST_TOKEN": "test-rest-token",  # behind a proxy the REST channel needs one
    }
    with Stack(
        free_port(), free_port(), log_dir=ROOT / "var" / "logs" / "flood", extra_env=env
    ) as stack:
        yield stack, HandoffStore(database).warm_up()


def send(stack: Stack, client: str, sender: str, text: str) -> Tuple[int, List[str], float]:
    started = time.monotonic()
    reply = requests.post(
        stack.rest_url,
        json={"sender": sender, "message": text},
        headers={"X-Forwarded-For": client, "Authorization": "Bearer test-rest-token"},
        timeout=60,
    )
    kinds = [m.get("custom", {}).get("kind") for m in reply.json()]
    return reply.status_code, kinds, time.monotonic() - started


def flood(stack: Stack, client: str, text: str, count: int, at_once: int) -> List[int]:
    with concurrent.futures.ThreadPoolExecutor(at_once) as pool:
        futures = [
            pool.submit(send, stack, client, f"flood-{uuid.uuid4().hex[:10]}", text)
            for _ in range(count)
        ]
        return [f.result()[0] for f in futures]


def test_a_flood_of_fake_emergencies_neither_buries_a_real_one_nor_pages_staff_for_each(
    limited: Tuple[Stack, HandoffStore], receiver: WebhookReceiver
) -> None:
    stack, store = limited
    statuses = flood(stack, "203.0.113.5", "crushing chest pain", FLOOD, at_once=20)
    assert statuses.count(200) <= NEW_CONVERSATIONS_PER_CLIENT
    assert statuses.count(429) >= FLOOD - NEW_CONVERSATIONS_PER_CLIENT

    status, kinds, took = send(stack, "198.51.100.7", "real-patient", "crushing chest pain")
    assert status == 200 and "emergency" in kinds and took < 2.0
    urgent = wait_for(
        lambda: (
            [h for h in store.list() if h.priority == "urgent"]
            if any(h.sender_id == "rest:real-patient" for h in store.list())
            else []
        ),
        timeout=20,
        what="the real emergency's handoff",
    )
    assert urgent[0].sender_id == "rest:real-patient"
    assert len(urgent) <= NEW_CONVERSATIONS_PER_CLIENT + 1
    time.sleep(3)  # deliveries of everything that was queued
    assert 1 <= len(receiver.requests) <= 4


def test_one_client_sending_long_messages_fast_does_not_slow_everyone(
    limited: Tuple[Stack, HandoffStore],
) -> None:
    stack, _ = limited
    long_text = ("my feet hurt and I read about exosomes, " * 60)[:2000]
    with concurrent.futures.ThreadPoolExecutor(1) as probe:
        waits = []
        pending = probe.submit(flood, stack, "203.0.113.6", long_text, 500, 150)
        time.sleep(0.5)
        for i in range(5):
            status, kinds, took = send(stack, "198.51.100.8", f"normal-{i}", ANSWERABLE)
            assert status == 200 and "answer" in kinds
            waits.append(took)
        statuses = pending.result()
    assert max(waits) < 3.0, waits
    assert statuses.count(429) + statuses.count(503) >= 400
