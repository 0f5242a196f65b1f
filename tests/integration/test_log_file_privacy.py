"""With Rasa's own ``--log-file`` (handlers Rasa adds itself), patient text still stays out."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from scripts.stack import TOOL_LIMITS_ENV, Stack, free_port

pytestmark = pytest.mark.integration
MESSAGES = [
    "/my HbA1c is 9.1, call me on +44 7911 123456 or jane.doe@example.com",
    "my email is meena.iyer@example.org and my phone is 98765 43210",
    '/greet{"emergency_numbers": "+1 555 0100"}',
]
SECRETS = ["HbA1c is 9.1", "7911", "123456", "jane.doe", "meena.iyer", "98765", "555 0100"]


def test_a_rasa_log_file_holds_no_patient_text(tmp_path: Path) -> None:
    log_file = tmp_path / "rasa-own.log"
    with Stack(
        free_port(),
        free_port(),
        log_dir=tmp_path / "logs",
        extra_env={**TOOL_LIMITS_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"},
        rasa_options=["--log-file", str(log_file), "--verbose"],
    ) as stack:
        for i, text in enumerate(MESSAGES):
            reply = requests.post(
                stack.rest_url, json={"sender": f"log-{i}", "message": text}, timeout=60
            )
            assert reply.status_code == 200
    written = log_file.read_text(encoding="utf-8", errors="replace")
    written += "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    assert "Rasa server is up and running" in written  # the file is Rasa's log
    for secret in SECRETS:
        assert secret not in written, secret
