"""The real bot: trained model, action server and Rasa server on free loopback ports.

The action server writes handoffs to a throwaway SQLite file and notifies a real local webhook
receiver and a real local SMTP server. The WhatsApp and Twilio channels send their replies to local
fakes of the Graph API and of Twilio's Messages API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from handoffs.store import HandoffStore
from scripts.stack import TOOL_LIMITS_ENV, Stack, free_port
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.receivers import SmtpReceiver, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "test-webhook-secret"
EMERGENCY_NUMBERS = "108 (ambulance) or 112"
ACTION_TIMEOUT = 3.0
WHATSAPP_VERIFY_TOKEN = "test-verify-token"
WHATSAPP_APP_SECRET = "test-app-secret"
TWILIO_WHATSAPP_FROM = "whatsapp:+14155238886"


@pytest.fixture(scope="session")
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def graph_api() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def twilio_api() -> Iterator[FakeTwilioApi]:
    fake = FakeTwilioApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('handoffs') / 'handoffs.db'}"


@pytest.fixture(scope="session")
def tracker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The running Rasa server's conversation store (a throwaway SQLite file)."""
    return f"sqlite:///{tmp_path_factory.mktemp('conversations') / 'conversations.db'}"


@pytest.fixture(scope="session")
def stack(
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
    database_url: str,
    tracker_url: str,
    graph_api: FakeGraphApi,
    twilio_api: FakeTwilioApi,
) -> Iterator[Stack]:
    if not (ROOT / "models" / "faqbot.tar.gz").is_file():
        pytest.fail("no trained model: run the tests with 'make test'")
    env = {
        **TOOL_LIMITS_ENV,
        "DATABASE_URL": database_url,
        "FAQBOT_TRACKER_URL": tracker_url,
        "FAQBOT_WEBHOOK_URL": webhook.url,
        "FAQBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FAQBOT_SMTP_HOST": "127.0.0.1",
        "FAQBOT_SMTP_PORT": str(smtp.port),
        "FAQBOT_SMTP_TO": "staff@clinic.example",
        "FAQBOT_NOTIFY_RETRY_BASE": "0.5",
        # The tests check one alert per handoff (the burst collapse has tests of its own).
        "FAQBOT_ALERT_BURST": "10000",
        "FAQBOT_NOTIFY_RETRY_MAX": "1",
        "FAQBOT_EMERGENCY_NUMBERS": EMERGENCY_NUMBERS,
        "FAQBOT_ACTION_TIMEOUT": str(ACTION_TIMEOUT),
        "WHATSAPP_VERIFY_TOKEN": WHATSAPP_VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": WHATSAPP_APP_SECRET,
        "WHATSAPP_ACCESS_TOKEN": graph_api.access_token,
        "WHATSAPP_PHONE_NUMBER_ID": graph_api.phone_number_id,
        "WHATSAPP_API_URL": graph_api.url,
        "TWILIO_ACCOUNT_SID": twilio_api.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_api.auth_token,
        "TWILIO_WHATSAPP_FROM": TWILIO_WHATSAPP_FROM,
        "TWILIO_API_URL": twilio_api.url,
        "TWILIO_WEBHOOK_URL": "",  # signatures over the request URL
    }
    log_dir = ROOT / "var" / "logs" / "tests"
    with Stack(free_port(), free_port(), log_dir=log_dir, extra_env=env) as running:
        yield running


@pytest.fixture(scope="session")
def handoff_store(database_url: str) -> HandoffStore:
    """The store the running action server writes to, for checking what it saved."""
    return HandoffStore(database_url).warm_up()
