"""Staff notifications against a real local HTTP server and a real local SMTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Iterator, List

import pytest

from handoffs.notify import (
    EmailSink,
    Notifier,
    NotifyError,
    Sink,
    WebhookSink,
    retry_delay,
    sinks_from_settings,
)
from handoffs.records import Contact, Handoff, Turn
from handoffs.store import HandoffStore
from knowledge.config import Settings
from tests.receivers import SmtpReceiver, WebhookReceiver
from tests.test_handoff_store import T0

SECRET = "test-secret"
PATIENT_TEXT = "my chest hurts since this morning"
PHONE = "+919876543210"
EMAIL = "ravi.patient@gmail.com"


@pytest.fixture
def store(store_url: str) -> Iterator[HandoffStore]:
    store = HandoffStore(store_url).warm_up()
    yield store
    store.close()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver().start()
    yield server
    server.stop()


def email_sink(port: int) -> EmailSink:
    return EmailSink(
        "127.0.0.1", port, "faqbot@clinic.example", ["desk@clinic.example", "nurse@clinic.example"]
    )


def escalate(store: HandoffStore, sinks: List[str]) -> Handoff:
    return store.escalate(
        "rest",
        "patient-9",
        "emergency",
        [Turn("patient", PATIENT_TEXT, T0), Turn("bot", "Please call 112 now.", T0)],
        contact=Contact("phone", PHONE),
        sinks=sinks,
        now=T0,
    )


def assert_no_patient_data(text: str) -> None:
    for secret in (PATIENT_TEXT, "chest", PHONE, "98765", EMAIL, "patient-9"):
        assert secret not in text


# -- webhook ------------------------------------------------------------------------------------


def test_webhook_is_delivered_signed_and_without_patient_data(
    store: HandoffStore, receiver: WebhookReceiver
) -> None:
    made = escalate(store, ["webhook"])
    notifier = Notifier(store, {"webhook": WebhookSink(receiver.url, SECRET, timeout=2)})

    report = notifier.deliver_due(now=T0)
    assert (report.delivered, report.failed) == (1, 0)
    [request] = receiver.requests
    assert request.path == "/hooks/handoff"
    assert request.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Faqbot-Signature"] == expected
    assert json.loads(request.body) == {
        "event": "handoff",
        "reference": made.reference,
        "reason": "emergency",
        "priority": "urgent",
        "status": "open",
        "channel": "rest",
        "created_at": "2024-05-01T09:00:00+00:00",
        "has_contact": True,
    }
    assert_no_patient_data(request.body.decode())

    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.delivered_at) == ("delivered", 1, T0)
    # Delivered once: nothing is sent again.
    assert notifier.deliver_due(now=T0 + timedelta(hours=1)).delivered == 0
    assert len(receiver.requests) == 1


def test_webhook_without_secret_is_not_signed(
    store: HandoffStore, receiver: WebhookReceiver
) -> None:
    escalate(store, ["webhook"])
    Notifier(store, {"webhook": WebhookSink(receiver.url)}).deliver_due(now=T0)
    [request] = receiver.requests
    assert "X-Faqbot-Signature" not in request.headers


def test_failing_receiver_keeps_the_notification_pending_until_it_recovers(
    store: HandoffStore, receiver: WebhookReceiver
) -> None:
    made = escalate(store, ["webhook"])
    notifier = Notifier(store, {"webhook": WebhookSink(receiver.url, SECRET, 2)}, 2.0, 300.0)
    receiver.status = 500

    report = notifier.deliver_due(now=T0)
    assert (report.delivered, report.failed) == (0, 1)
    assert store.get(made.reference).status == "open"  # type: ignore[union-attr]
    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.last_error) == ("pending", 1, "webhook HTTP 500")
    assert n.next_attempt_at == T0 + timedelta(seconds=2)

    # Not due yet: no request is made.
    assert notifier.deliver_due(now=T0 + timedelta(seconds=1)) == type(report)(0, 0)
    assert len(receiver.requests) == 1

    # Still failing: the wait doubles.
    notifier.deliver_due(now=T0 + timedelta(seconds=2))
    [n] = store.notifications(made.reference)
    assert n.attempts == 2 and n.next_attempt_at == T0 + timedelta(seconds=6)

    receiver.status = 200
    report = notifier.deliver_due(now=T0 + timedelta(seconds=6))
    assert (report.delivered, report.failed) == (1, 0)
    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.last_error) == ("delivered", 3, None)
    assert len(receiver.requests) == 3


def test_receiver_down_then_back(store: HandoffStore) -> None:
    down = WebhookReceiver()  # nothing listens on the port yet
    made = escalate(store, ["webhook"])
    notifier = Notifier(store, {"webhook": WebhookSink(down.url, SECRET, 2)}, 5.0, 60.0)

    assert notifier.deliver_due(now=T0).failed == 1
    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.last_error) == ("pending", 1, "webhook ConnectError")
    assert n.next_attempt_at == T0 + timedelta(seconds=5)

    down.start()
    try:
        report = notifier.deliver_due(now=T0 + timedelta(seconds=5))
    finally:
        down.stop()
    assert (report.delivered, report.failed) == (1, 0)
    assert json.loads(down.requests[0].body)["reference"] == made.reference


def test_notification_survives_a_restart_between_saving_and_sending(
    store_url: str, receiver: WebhookReceiver
) -> None:
    crashed = HandoffStore(store_url)
    made = escalate(crashed, ["webhook"])
    crashed.close()  # the process died before notifying

    restarted = HandoffStore(store_url)
    try:
        report = Notifier(restarted, {"webhook": WebhookSink(receiver.url)}).deliver_due(now=T0)
    finally:
        restarted.close()
    assert report.delivered == 1
    assert json.loads(receiver.requests[0].body)["reference"] == made.reference


# -- e-mail -------------------------------------------------------------------------------------


def test_email_is_delivered_without_patient_data(store: HandoffStore, smtp: SmtpReceiver) -> None:
    made = escalate(store, ["email"])
    report = Notifier(store, {"email": email_sink(smtp.port)}).deliver_due(now=T0)
    assert (report.delivered, report.failed) == (1, 0)

    [message] = smtp.handler.messages
    [envelope] = smtp.handler.envelopes
    assert envelope.mail_from == "faqbot@clinic.example"
    assert envelope.rcpt_tos == ["desk@clinic.example", "nurse@clinic.example"]
    assert message["Subject"] == f"[clinic bot] URGENT handoff {made.reference}: emergency"
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert f"python -m handoffs show {made.reference}" in body
    assert "Priority:   urgent" in body and "Channel:    rest" in body
    assert "2024-05-01 09:00 UTC" in body
    assert_no_patient_data(envelope.content.decode())


def test_email_server_down_or_refusing_is_retried(store: HandoffStore) -> None:
    server = SmtpReceiver()
    made = escalate(store, ["email"])
    notifier = Notifier(store, {"email": email_sink(server.port)}, 2.0, 300.0)

    assert notifier.deliver_due(now=T0).failed == 1  # nobody listens
    [n] = store.notifications(made.reference)
    assert (n.status, n.attempts, n.last_error) == ("pending", 1, "email ConnectionRefusedError")

    server.start()
    try:
        server.handler.reply = "554 Transaction failed"
        assert notifier.deliver_due(now=T0 + timedelta(seconds=2)).failed == 1
        [n] = store.notifications(made.reference)
        assert (n.attempts, n.last_error) == (2, "email SMTPDataError")
        server.handler.reply = "250 OK"
        assert notifier.deliver_due(now=T0 + timedelta(seconds=6)).delivered == 1
    finally:
        server.stop()
    assert len(server.handler.messages) == 1


# -- policy -------------------------------------------------------------------------------------


class Exploding(Sink):
    name = "pager"

    def send(self, handoff: Handoff) -> None:
        raise RuntimeError(f"bug while sending {handoff.turns[0].text}")


def test_a_crashing_sink_never_raises_and_never_logs_patient_data(
    store: HandoffStore, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    made = escalate(store, ["pager", "webhook"])
    notifier = Notifier(store, {"pager": Exploding(), "webhook": WebhookSink(receiver.url)})
    with caplog.at_level(logging.WARNING, logger="handoffs.notify"):
        report = notifier.deliver_due(now=T0)
    assert (report.delivered, report.failed) == (1, 1)
    pager = [n for n in store.notifications(made.reference) if n.sink == "pager"][0]
    assert (pager.status, pager.last_error) == ("pending", "RuntimeError")
    assert made.reference in caplog.text and "pager" in caplog.text
    assert "RuntimeError" in caplog.text
    assert_no_patient_data(caplog.text)


def test_unconfigured_sink_stays_pending(store: HandoffStore, receiver: WebhookReceiver) -> None:
    made = escalate(store, ["email", "webhook"])
    Notifier(store, {"webhook": WebhookSink(receiver.url)}).deliver_due(now=T0)
    by_sink = {n.sink: n for n in store.notifications(made.reference)}
    assert by_sink["webhook"].status == "delivered"
    assert (by_sink["email"].status, by_sink["email"].attempts) == ("pending", 0)


def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(a, 2.0, 300.0) for a in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(9, 2.0, 300.0) == 300.0
    assert retry_delay(1_000_000, 2.0, 300.0) == 300.0  # retried forever without overflow


def test_sinks_from_settings_builds_only_configured_ones() -> None:
    assert sinks_from_settings(Settings.from_env({})) == {}
    settings = Settings.from_env(
        {
            "FAQBOT_WEBHOOK_URL": "https://hooks.clinic.example/x",
            "FAQBOT_WEBHOOK_SECRET": "s",
            "FAQBOT_SMTP_HOST": "mail.clinic.example",
            "FAQBOT_SMTP_PORT": "587",
            "FAQBOT_SMTP_TO": "desk@clinic.example, nurse@clinic.example",
            "FAQBOT_SMTP_STARTTLS": "true",
            "FAQBOT_NOTIFY_TIMEOUT": "3",
        }
    )
    sinks = sinks_from_settings(settings)
    assert sorted(sinks) == ["email", "webhook"]
    webhook, mail = sinks["webhook"], sinks["email"]
    assert isinstance(webhook, WebhookSink) and isinstance(mail, EmailSink)
    assert (webhook.url, webhook.secret, webhook.timeout) == (
        "https://hooks.clinic.example/x",
        "s",
        3,
    )
    assert mail.recipients == ("desk@clinic.example", "nurse@clinic.example")
    assert (mail.port, mail.starttls) == (587, True)
    only_mail = Settings.from_env({"FAQBOT_SMTP_HOST": "m", "FAQBOT_SMTP_TO": "a@b.example"})
    assert list(sinks_from_settings(only_mail)) == ["email"]


def test_webhook_sink_rejects_a_non_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookSink("ftp://example.org")
    with pytest.raises(NotifyError, match="webhook HTTP 404"):
        receiver = WebhookReceiver(status=404).start()
        try:
            WebhookSink(receiver.url).send(_sample_handoff())
        finally:
            receiver.stop()


def _sample_handoff() -> Handoff:
    return Handoff(
        id=1,
        reference="HX7K-3M9Q",
        created_at=T0,
        updated_at=T0,
        channel="rest",
        sender_id="p",
        reason="no_answer",
        priority="normal",
        status="open",
        turns=[],
    )


def test_a_burst_of_urgent_handoffs_is_collapsed_into_a_handful_of_alerts(
    store: HandoffStore, receiver: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    sinks = {
        "webhook": WebhookSink(receiver.url, SECRET, timeout=2),
        "email": email_sink(smtp.port),
    }
    notifier = Notifier(store, sinks, burst=3, window=300)
    made = []
    for i in range(60):  # a flood, delivered as it arrives
        moment = T0 + timedelta(seconds=i)
        made.append(
            store.escalate(
                "rest", f"rest:flood-{i}", "emergency", [], sinks=list(sinks), now=moment
            )
        )
        notifier.deliver_due(now=moment)
    events = [json.loads(r.body) for r in receiver.requests]
    assert len(events) == 3 and len(smtp.handler.messages) == 3
    assert events[0]["event"] == "handoff"
    # After the window, one digest says how many more came, and names them.
    notifier.deliver_due(now=T0 + timedelta(seconds=301))
    assert len(receiver.requests) == 4 and len(smtp.handler.messages) == 4
    digest = json.loads(receiver.requests[-1].body)
    assert digest["event"] == "handoff_digest"
    assert digest["urgent"] == digest["count"] == 60 - 3
    told = {ref for e in events[1:3] for ref in e.get("references", [e.get("reference")])}
    assert told | set(digest["references"]) | {events[0]["reference"]} == {
        h.reference for h in made
    }
    assert "57 handoffs (57 URGENT)" in smtp.handler.messages[-1]["Subject"]
    assert all(n.status == "delivered" for h in made for n in store.notifications(h.reference))
    # Once the burst is over, single handoffs are alerted one by one again.
    late = store.escalate(
        "rest", "rest:later", "emergency", [], sinks=list(sinks), now=T0 + timedelta(hours=1)
    )
    notifier.deliver_due(now=T0 + timedelta(hours=1))
    assert json.loads(receiver.requests[-1].body)["reference"] == late.reference
