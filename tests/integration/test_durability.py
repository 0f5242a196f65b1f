"""Conversations survive a crash of the Rasa server and are shared by several Rasa servers.

Real processes throughout: the session stack (SQLite tracker store) is killed with SIGKILL and
restarted; the scale-out test runs two Rasa servers on the running PostgreSQL (tracker store) and
Redis (lock store) with one action server, alternates a conversation between them and kills one.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import jwt
import pytest
import redis
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from handoffs.store import HandoffStore
from knowledge.config import Settings
from scripts.stack import TOOL_LIMITS_ENV, Stack, free_port
from tests.databases import fresh_database
from tests.integration.chat import kinds, new_sender, say, split
from tests.proxy import TcpProxy
from tests.receivers import WebhookReceiver, wait_for

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/5"
JWT_SECRET = "scale-out-test-secret-of-at-least-32-chars"
LIMIT = Settings().rate_limit
ALLOWED_ORIGIN = "https://clinic.example"
KIDNEY_QUESTION = "how does exosome therapy help diabetic kidney disease"
FOLLOW_UP = "and does it have side effects?"


def stored_turns(url: str, sender: str) -> List[Tuple[str, str]]:
    """``(type_name, name)`` of a REST sender's stored events, oldest first."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT type_name, COALESCE(intent_name, action_name, '') FROM events "
                    "WHERE sender_id = :sender ORDER BY id"
                ),
                {"sender": f"rest:{sender}"},
            ).fetchall()
    finally:
        engine.dispose()
    return [(str(kind), str(name)) for kind, name in rows]


def user_turns(url: str, sender: str) -> int:
    return sum(1 for kind, _ in stored_turns(url, sender) if kind == "user")


def assert_kidney_follow_up(stack: Stack, sender: str) -> None:
    """The follow-up is answered from the kidney article: the condition was remembered."""
    _, follow = split(say(stack, FOLLOW_UP, sender))
    assert follow and follow[0]["kind"] == "answer", follow
    assert follow[0]["citations"][0]["id"].startswith("exosomes-diabetic-nephropathy")


@pytest.mark.integration
def test_conversation_continues_after_the_rasa_server_is_killed(
    stack: Stack, tracker_url: str
) -> None:
    sender = new_sender("restart")
    _, first = split(say(stack, KIDNEY_QUESTION, sender))
    assert first[0]["condition"] == "nephropathy"
    assert user_turns(tracker_url, sender) == 1

    stack.kill("rasa")
    stack.start_rasa()
    stack.wait_ready()

    assert_kidney_follow_up(stack, sender)
    assert user_turns(tracker_url, sender) == 2


@pytest.fixture(scope="module")
def shared_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh PostgreSQL schema for the conversations (skipped when PostgreSQL is down)."""
    with fresh_database("postgresql", tmp_path_factory.mktemp("scale")) as url:
        yield url


@pytest.fixture(scope="module")
def handoff_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh PostgreSQL schema for the handoffs (reached directly, not through the proxy)."""
    with fresh_database("postgresql", tmp_path_factory.mktemp("handoffs")) as url:
        yield url


@pytest.fixture(scope="module")
def database_proxy(handoff_database: str) -> Iterator[TcpProxy]:
    """The action server reaches the handoff database through this, so a test can cut it."""
    target = make_url(handoff_database)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def two_servers(
    shared_stores: str,
    handoff_database: str,
    database_proxy: TcpProxy,
    webhook: WebhookReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Tuple[Stack, Stack]]:
    """Rasa servers A and B sharing PostgreSQL and Redis, and one action server.

    B also has the HTTP API enabled (JWT) and a CORS origin, to check both are enforced. The
    action server's handoff database is PostgreSQL behind :class:`TcpProxy`.
    """
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    env = {
        **TOOL_LIMITS_ENV,
        "FAQBOT_TRACKER_URL": shared_stores,
        "FAQBOT_LOCK_STORE_URL": REDIS_URL,
        "DATABASE_URL": make_url(handoff_database)
        .set(host="127.0.0.1", port=database_proxy.port)
        .render_as_string(hide_password=False),
        "FAQBOT_WEBHOOK_URL": webhook.url,
        "FAQBOT_NOTIFY_RETRY_BASE": "0.5",
        "FAQBOT_HANDOFF_SPOOL": str(tmp_path_factory.mktemp("spool") / "handoffs.jsonl"),
        "FAQBOT_CORS_ORIGINS": ALLOWED_ORIGIN,
        # One action server for both Rasa servers: they share its secret.
        "FAQBOT_ACTION_SECRET": "scale-out-action-secret",
        "FAQBOT_ALERT_BURST": "10000",
    }
    log_dir = ROOT / "var" / "logs" / "tests" / "scale-out"
    action_port = free_port()
    first = Stack(free_port(), action_port, log_dir=log_dir, extra_env=env)
    second = Stack(
        free_port(),
        action_port,
        log_dir=log_dir,
        extra_env={**env, "FAQBOT_ENABLE_API": "true", "FAQBOT_API_JWT_SECRET": JWT_SECRET},
    )
    first.start()
    try:
        second.start_rasa()
        second.wait_ready()
        yield first, second
    finally:
        second.stop()
        first.stop()


@pytest.mark.integration
def test_the_rate_limit_counts_a_sender_across_both_servers(
    two_servers: Tuple[Stack, Stack],
) -> None:
    """With a Redis lock store the servers share one count: 20 per minute in all, not each."""
    sender = new_sender("flood")
    replies = [say(two_servers[i % 2], "hello", sender) for i in range(LIMIT + 4)]
    limited = [i for i, messages in enumerate(replies) if kinds(messages) == ["rate_limited"]]
    assert limited == list(range(LIMIT, LIMIT + 4))


@pytest.mark.integration
def test_conversation_alternates_between_two_servers_and_survives_losing_one(
    two_servers: Tuple[Stack, Stack], shared_stores: str
) -> None:
    first, second = two_servers
    log = (first.log_dir or ROOT) / "rasa.log"
    assert "conversation locks are kept in RedisLockStore" in log.read_text(errors="replace")
    sender = new_sender("scale")

    _, opening = split(say(first, KIDNEY_QUESTION, sender))
    assert opening[0]["condition"] == "nephropathy"
    assert_kidney_follow_up(second, sender)

    first.kill("rasa")
    assert_kidney_follow_up(second, sender)
    assert user_turns(shared_stores, sender) == 3


@pytest.mark.integration
def test_concurrent_messages_on_both_servers_are_handled_one_at_a_time(
    two_servers: Tuple[Stack, Stack], shared_stores: str
) -> None:
    first, second = two_servers
    servers = [s for s in (first, second) if "rasa" in s.procs]
    sender = f"locks-{uuid.uuid4().hex[:8]}"
    messages = ["hello", "what are exosomes", "how are they given", "is it safe", "thanks"]
    with concurrent.futures.ThreadPoolExecutor(len(messages)) as pool:
        replies = list(
            pool.map(
                lambda pair: say(servers[pair[0] % len(servers)], pair[1], sender),
                enumerate(messages),
            )
        )
    assert all(replies), replies
    turns = stored_turns(shared_stores, sender)
    assert sum(1 for kind, _ in turns if kind == "user") == len(messages)
    # With the shared lock, each message is processed to the end (action_listen) before the
    # next one starts: user events never interleave with another message's actions.
    in_turn = False
    for kind, name in turns:
        if kind == "user":
            assert not in_turn, turns
            in_turn = True
        elif kind == "action" and name == "action_listen":
            in_turn = False


@pytest.mark.integration
def test_http_api_needs_a_token_and_cors_is_limited_to_configured_origins(
    two_servers: Tuple[Stack, Stack],
) -> None:
    _, second = two_servers
    base = f"http://127.0.0.1:{second.rasa_port}"
    assert requests.get(f"{base}/status", timeout=10).status_code == 401
    token = jwt.encode(
        {"user": {"username": "staff", "role": "admin"}, "exp": int(time.time()) + 60},
        JWT_SECRET,
        algorithm="HS256",
    )
    authorised = requests.get(
        f"{base}/status", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert authorised.status_code == 200
    command_line = Path(f"/proc/{second.procs['rasa'].pid}/cmdline").read_bytes()
    assert b"--enable-api" in command_line and JWT_SECRET.encode() not in command_line

    def preflight(origin: str) -> requests.Response:
        return requests.options(
            f"{base}/webhooks/rest/webhook",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )

    assert preflight(ALLOWED_ORIGIN).headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example").headers


@pytest.mark.integration
def test_a_handoff_made_while_its_database_is_down_is_stored_and_notified_once_it_is_back(
    two_servers: Tuple[Stack, Stack],
    handoff_database: str,
    database_proxy: TcpProxy,
    webhook: WebhookReceiver,
) -> None:
    _, second = two_servers
    sender = new_sender("spool")
    database_proxy.cut()
    try:
        reply = say(second, "can I talk to a person please", sender)
    finally:
        database_proxy.restore()
    text, customs = split(reply)
    assert "kept your request" in text
    assert {"reference": None, "reason": "user_request", "queued": True} in [
        c.get("handoff") for c in customs
    ]

    store = HandoffStore(handoff_database).warm_up()
    try:
        saved = wait_for(
            lambda: [h for h in store.list() if h.sender_id == f"rest:{sender}"], timeout=30
        )
        assert saved[0].reason == "user_request"
        assert [t.text for t in saved[0].turns if t.speaker == "patient"] == [
            "can I talk to a person please"
        ]
        wait_for(lambda: webhook.delivered_for(saved[0].reference), timeout=30)
    finally:
        store.close()
