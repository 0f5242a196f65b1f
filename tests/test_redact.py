"""Contact details never reach the log output."""

from __future__ import annotations

import io
import logging

import pytest

from knowledge.redact import RedactingFilter, redact


@pytest.mark.parametrize(
    "text",
    [
        "call me on +91 98765 43210 please",
        "my number is 098765-43210",
        "whatsapp:+14155238886 sent a message",
        "wa_id 919876543210",
        "write to asha.rao+clinic@example.co.in",
    ],
)
def test_contact_details_are_replaced(text: str) -> None:
    cleaned = redact(text)
    assert "98765" not in cleaned and "4155238886" not in cleaned and "@example" not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "Starting Rasa server on http://127.0.0.1:60009",
        "model trained in 23.5 s, 1234 examples",
        "handoff HX7K-3M9Q created",
    ],
)
def test_ordinary_log_lines_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_the_filter_redacts_arguments_and_exception_text() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    try:
        logger.warning("contact %s saved", "someone@example.org")
        try:
            raise ValueError("bad number +44 7700 900123")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "contact [email] saved" in output
    assert "ValueError: bad number [phone]" in output
    assert "example.org" not in output and "900123" not in output


def test_every_record_and_warning_is_redacted_whatever_handler_writes_it() -> None:
    import warnings

    from knowledge.redact import install_log_redaction

    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added later, like Rasa's --log-file handler
    quiet = logging.getLogger("tests.redact.no_propagation")
    quiet.propagate = False
    quiet.addHandler(handler)
    captured = logging.getLogger("py.warnings")
    captured.addHandler(handler)
    logging.captureWarnings(False)  # pytest's own warning recorder replaced the hook: again
    logging.captureWarnings(True)
    try:
        quiet.warning("patient at %s", "jane.doe@example.com")
        warnings.simplefilter("always")
        warnings.warn(
            "Failed to parse line '/call me on +44 7911 123456'", UserWarning, stacklevel=1
        )
    finally:
        quiet.removeHandler(handler)
        captured.removeHandler(handler)
    written = stream.getvalue()
    assert "[email]" in written and "[phone]" in written
    assert "jane.doe" not in written and "7911" not in written
