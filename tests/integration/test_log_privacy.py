"""The servers' logs of a whole conversation hold no message text and no contact details."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from scripts.stack import Stack
from tests.integration.chat import kinds, new_sender, reference_of, say
from tests.receivers import WebhookReceiver, wait_for

PHONE = "98765 43210"
EMAIL = "meena.iyer@example.org"
TURNS = [
    "hello",
    "my grandmother Kamala has a foot ulcer that smells bad, can exosomes heal it?",
    "should I stop taking my metformin before the exosome injection?",
    "I want to talk to a doctor",
    f"call me on {PHONE}",
    f"or e-mail {EMAIL}",
    "I have crushing chest pain and my left arm is numb",
]
SECRETS = [
    "Kamala",
    "smells bad",
    "metformin",
    "crushing chest pain",
    "left arm is numb",
    "talk to a doctor",
    "98765",
    "9876543210",
    EMAIL,
    "meena.iyer",
]


def log_sizes(stack: Stack) -> Dict[Path, int]:
    assert stack.log_dir is not None
    return {path: path.stat().st_size for path in stack.log_dir.glob("*.log")}


@pytest.mark.integration
def test_a_full_conversation_leaves_no_patient_data_in_the_logs(
    stack: Stack, webhook: WebhookReceiver
) -> None:
    before = log_sizes(stack)
    sender = new_sender("privacy")
    replies = [say(stack, text, sender) for text in TURNS]
    assert "emergency" in kinds(replies[-1])
    reference = reference_of(replies[-1])  # the emergency's urgent handoff
    wait_for(lambda: webhook.delivered_for(reference), timeout=20)

    written = ""
    for path in log_sizes(stack):
        with path.open("rb") as log:
            log.seek(before.get(path, 0))
            written += log.read().decode("utf-8", errors="replace")
    assert written.strip(), "the servers wrote nothing to their logs during the conversation"
    leaked = [secret for secret in SECRETS if secret.lower() in written.lower()]
    assert not leaked, leaked
