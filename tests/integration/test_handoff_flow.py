"""Handoffs through the real bot: records saved, contact details asked for, staff notified."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from handoffs.notify import verify_signature
from handoffs.store import HandoffStore
from scripts.stack import Stack
from tests.integration.chat import ANSWERABLE, kinds, new_sender, reference_of, say, split
from tests.integration.conftest import ACTION_TIMEOUT, EMERGENCY_NUMBERS, WEBHOOK_SECRET
from tests.receivers import SmtpReceiver, WebhookReceiver, wait_for

pytestmark = pytest.mark.integration


def test_request_for_a_person_saves_a_handoff_and_takes_a_valid_phone_number(
    stack: Stack, handoff_store: HandoffStore
) -> None:
    sender = new_sender("human")
    first = say(stack, "can I talk to a person please", sender)
    assert kinds(first) == ["handoff", "contact_request"]
    reference = reference_of(first)
    assert f"Your reference number is {reference}" in split(first)[0]

    confirmed = say(stack, "my number is 98765 43210", sender)
    text, _ = split(confirmed)
    assert kinds(confirmed) == ["handoff"]
    assert "+919876543210" in text and reference in text

    saved = handoff_store.get(reference)
    assert saved is not None
    assert (saved.reason, saved.priority, saved.status) == ("user_request", "normal", "open")
    assert (saved.channel, saved.sender_id) == ("rest", f"rest:{sender}")
    assert saved.contact is not None and saved.contact.value == "+919876543210"
    assert [t.text for t in saved.turns if t.speaker == "patient"] == [
        "can I talk to a person please"
    ]

    after = say(stack, "how much does the treatment cost?", sender)
    assert kinds(after)[0] == "answer", "the bot keeps answering after a handoff"


def test_invalid_contact_is_explained_and_asked_again_then_dropped(stack: Stack) -> None:
    sender = new_sender("invalid")
    say(stack, "please have someone call me back", sender)
    again = say(stack, "my number is 123", sender)
    assert kinds(again) == ["contact_invalid", "contact_request"]
    gave_up = say(stack, "priya@", sender)
    assert kinds(gave_up) == ["handoff"]
    assert "let's leave it there" in split(gave_up)[0]
    assert (
        kinds(say(stack, "how many sessions will I need for a foot ulcer?", sender))[0] == "answer"
    )


def test_medical_advice_escalates_with_high_priority_and_contact_can_be_declined(
    stack: Stack, handoff_store: HandoffStore
) -> None:
    sender = new_sender("advice")
    first = say(stack, "should i stop taking my insulin before the treatment", sender)
    assert kinds(first) == ["medical_advice", "contact_request"]
    reference = reference_of(first)
    declined = say(stack, "no thanks", sender)
    assert "No problem" in split(declined)[0] and reference in split(declined)[0]
    saved = handoff_store.get(reference)
    assert saved is not None
    assert (saved.reason, saved.priority) == ("medical_advice", "high")
    assert saved.contact is not None and saved.contact.kind == "declined"

    # A second escalation in the same conversation updates the same record: no second handoff,
    # and the patient is not asked again for the details they declined.
    more = say(stack, "can I talk to a nurse", sender)
    assert reference_of(more) == reference and "contact_request" not in kinds(more)


def test_a_question_instead_of_contact_details_is_answered(stack: Stack) -> None:
    sender = new_sender("moveon")
    say(stack, "i want to speak to a human", sender)
    reply = say(stack, ANSWERABLE, sender)
    assert kinds(reply)[0] == "answer"


def test_emergency_comes_first_then_staff_are_notified_by_webhook_and_email(
    stack: Stack, handoff_store: HandoffStore, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    sender = new_sender("emergency")
    messages = say(stack, "my father is unconscious and not breathing", sender)
    assert kinds(messages) == ["emergency", "handoff"]
    assert EMERGENCY_NUMBERS in messages[0]["text"], "numbers come from the deployment's config"
    reference = reference_of(messages)
    saved = handoff_store.get(reference)
    assert saved is not None and (saved.reason, saved.priority) == ("emergency", "urgent")

    hook = wait_for(lambda: webhook.delivered_for(reference))[0]
    assert hook.json["priority"] == "urgent" and hook.json["reason"] == "emergency"
    assert verify_signature(hook.body, WEBHOOK_SECRET, hook.headers.get("X-Faqbot-Signature"))
    assert "unconscious" not in hook.body.decode(), "no patient text in notifications"
    mail = wait_for(lambda: smtp.delivered_for(reference))[0]
    assert "urgent" in str(mail["Subject"]).lower()
    assert "unconscious" not in mail.as_string()


def test_a_failing_webhook_leaves_the_handoff_open_and_is_retried(
    stack: Stack, handoff_store: HandoffStore, webhook: WebhookReceiver
) -> None:
    webhook.fail_next = 2
    messages = say(stack, "can a doctor contact me", new_sender("retry"))
    reference = reference_of(messages)
    delivered = wait_for(lambda: webhook.delivered_for(reference), timeout=30)
    statuses = [r.status for r in webhook.requests if r.json.get("reference") == reference]
    assert len(delivered) == 1 and statuses[0] == 500, "delivered once, after failing first"
    saved = handoff_store.get(reference)
    assert saved is not None and saved.status == "open"


def test_disclaimer_is_said_once_per_conversation(stack: Stack) -> None:
    sender = new_sender("disclaimer")
    first, _ = split(say(stack, "what are exosomes?", sender))
    second, _ = split(say(stack, "how much does it cost?", sender))
    assert "not medical advice" in first
    assert "not medical advice" not in second


def test_with_a_hung_action_server_the_emergency_reply_comes_at_once(stack: Stack) -> None:
    """The emergency reply needs no action server; the handoff after it must not delay it."""
    actions = stack.procs["actions"]
    os.kill(actions.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        messages = say(stack, "my husband has crushing chest pain and is sweating", new_sender())
        elapsed = time.monotonic() - started
        time.sleep(ACTION_TIMEOUT)  # the rest of the turn gives up on the action server
    finally:
        os.kill(actions.pid, signal.SIGCONT)
    assert kinds(messages)[0] == "emergency"
    assert EMERGENCY_NUMBERS in split(messages)[0]
    assert elapsed < min(2.0, ACTION_TIMEOUT), f"took {elapsed:.1f} s"
    assert kinds(say(stack, "how many sessions will I need for a foot ulcer?"))[0] == "answer"


def test_a_hung_action_server_is_given_up_on_after_the_action_timeout(stack: Stack) -> None:
    actions = stack.procs["actions"]
    os.kill(actions.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        messages = say(stack, "how many sessions will I need for a foot ulcer?")
        elapsed = time.monotonic() - started
    finally:
        os.kill(actions.pid, signal.SIGCONT)
    assert kinds(messages) == ["unavailable"]
    assert ACTION_TIMEOUT <= elapsed < ACTION_TIMEOUT + 3, f"took {elapsed:.1f} s"
    assert kinds(say(stack, "how many sessions will I need for a foot ulcer?"))[0] == "answer"


def test_with_a_hung_action_server_waiting_turns_do_not_queue_behind_each_timeout(
    stack: Stack,
) -> None:
    """12 questions at once, 4 turns at a time (the default): without the gate's longest wait
    they would finish in three rounds of the action timeout; with it, in about two."""
    actions = stack.procs["actions"]
    questions = [f"how many sessions will I need for a foot ulcer? ({i})" for i in range(12)]
    os.kill(actions.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(len(questions)) as pool:
            replies = list(pool.map(lambda q: say(stack, q, new_sender("hung")), questions))
        elapsed = time.monotonic() - started
    finally:
        os.kill(actions.pid, signal.SIGCONT)
    assert all(kinds(messages) == ["unavailable"] for messages in replies), replies
    assert elapsed < 2.6 * ACTION_TIMEOUT, f"took {elapsed:.1f} s"
    assert kinds(say(stack, "how many sessions will I need for a foot ulcer?"))[0] == "answer"
