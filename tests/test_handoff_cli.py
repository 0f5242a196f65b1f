"""The staff command line, through main(argv) and once as a real ``python -m handoffs``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from handoffs.cli import main
from handoffs.records import Contact, Handoff, Turn
from handoffs.store import HandoffStore
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
PATIENT_TEXT = "can I stop my metformin before the session?"
NOW = datetime.now(timezone.utc)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL of a fresh SQLite file; notification settings cleared."""
    url = f"sqlite:///{tmp_path / 'var' / 'faqbot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    for name in list(os.environ):
        if name.startswith(("FAQBOT_WEBHOOK", "FAQBOT_SMTP", "FAQBOT_NOTIFY")):
            monkeypatch.delenv(name)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[HandoffStore]:
    store = HandoffStore(db_url).warm_up()
    yield store
    store.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def seed(store: HandoffStore) -> Tuple[Handoff, Handoff]:
    normal = store.escalate("rest", "p1", "no_answer", [Turn("patient", "what is exosome?")])
    urgent = store.escalate(
        "rest",
        "p2",
        "medical_advice",
        [Turn("patient", PATIENT_TEXT, NOW), Turn("bot", "I can't advise on medication.", NOW)],
        contact=Contact("phone", "+919876543210"),
        sinks=["webhook"],
    )
    return normal, urgent


def test_list_and_show(store: HandoffStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "list") == (0, "no handoffs\n", "")
    normal, high = seed(store)

    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "REFERENCE",
        "PRIORITY",
        "STATUS",
        "REASON",
        "CHANNEL",
        "CREATED",
        "CONTACT",
        "BY",
    ]
    assert lines[1].startswith(high.reference) and "high" in lines[1] and "phone" in lines[1]
    assert lines[2].startswith(normal.reference) and "normal" in lines[2]
    assert PATIENT_TEXT not in out

    code, out, _ = run(capsys, "list", "--json", "--status", "open")
    data = json.loads(out)
    assert [d["reference"] for d in data] == [high.reference, normal.reference]
    assert data[0]["turns"] == 2 and data[0]["contact"] == {
        "kind": "phone",
        "value": "+919876543210",
    }
    assert run(capsys, "list", "--status", "claimed")[1] == "no claimed handoffs\n"

    code, out, _ = run(capsys, "show", high.reference.lower().replace("-", ""))
    assert code == 0
    assert f"Handoff {high.reference}  [high]  open" in out
    assert PATIENT_TEXT in out and "I can't advise on medication." in out
    assert "contact:     phone +919876543210" in out
    assert "webhook  pending since" in out

    code, out, _ = run(capsys, "show", high.reference, "--json")
    data = json.loads(out)
    assert [t["text"] for t in data["turns"]] == [PATIENT_TEXT, "I can't advise on medication."]
    assert data["notifications"][0]["sink"] == "webhook"
    assert data["notifications"][0]["status"] == "pending"


def test_show_neutralises_terminal_escapes(
    store: HandoffStore, capsys: pytest.CaptureFixture[str]
) -> None:
    made = store.escalate("rest", "p1", "no_answer", [Turn("patient", "hi\x1b[2J\x07 there")])
    out = run(capsys, "show", made.reference)[1]
    assert "\x1b" not in out and "\x07" not in out
    assert "hi\ufffd[2J\ufffd there" in out


def test_unknown_reference_is_exit_1_with_one_line(
    store: HandoffStore, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["show", "ZZZZ-ZZZZ"],
        ["claim", "ZZZZ-ZZZZ", "--by", "Asha"],
        ["resolve", "x", "--by", "A"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert err.startswith("error: no handoff with reference") and err.count("\n") == 1


def test_claim_and_resolve(store: HandoffStore, capsys: pytest.CaptureFixture[str]) -> None:
    _, high = seed(store)
    code, out, _ = run(capsys, "claim", high.reference, "--by", "Asha")
    assert code == 0 and out == f"claimed {high.reference} (high, medical_advice) for Asha\n"
    code, _, err = run(capsys, "claim", high.reference, "--by", "Ben")
    assert code == 1 and err == (
        f"error: handoff {high.reference} is already claimed by Asha; "
        "only an open handoff can be claimed\n"
    )
    assert run(capsys, "list", "--status", "claimed")[1].splitlines()[1].endswith("Asha")

    code, out, _ = run(capsys, "resolve", high.reference, "--by", "Asha", "--note", "called back")
    assert code == 0 and out == f"resolved {high.reference} by Asha\n"
    resolved = store.get(high.reference)
    assert resolved is not None and (resolved.status, resolved.note) == ("resolved", "called back")
    code, _, err = run(capsys, "resolve", high.reference, "--by", "Asha")
    assert code == 1 and "already resolved by Asha" in err
    out = run(capsys, "show", high.reference)[1]
    assert "note:        called back" in out


def test_deliver(
    store: HandoffStore,
    receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, high = seed(store)
    code, _, err = run(capsys, "deliver")
    assert code == 2 and "no notification sink is configured" in err

    monkeypatch.setenv("FAQBOT_WEBHOOK_URL", receiver.url)
    receiver.status = 503
    code, out, _ = run(capsys, "deliver")
    assert code == 1
    assert out.splitlines()[0] == "delivered 0, failed 1"
    assert f"{high.reference}  webhook  FAILING after 1 attempt(s): webhook HTTP 503" in out
    assert "failing" in run(capsys, "list")[2]
    assert "FAILING after 1 attempt(s)" in run(capsys, "show", high.reference)[1]

    receiver.status = 200
    store.mark_failed(store.notifications(high.reference)[0].id, "x", NOW - timedelta(hours=1))
    code, out, _ = run(capsys, "deliver")
    assert (code, out) == (0, "delivered 1, failed 0\n")
    assert json.loads(receiver.requests[-1].body)["reference"] == high.reference
    assert run(capsys, "list")[2] == ""


def test_purge(store: HandoffStore, capsys: pytest.CaptureFixture[str]) -> None:
    old = store.escalate("rest", "a", "no_answer", [])
    store.resolve(old.reference, "Asha", now=NOW - timedelta(days=31))
    recent = store.escalate("rest", "b", "no_answer", [])
    store.resolve(recent.reference, "Asha", now=NOW - timedelta(days=5))
    still_open = store.escalate("rest", "c", "no_answer", [])

    code, out, _ = run(capsys, "purge")
    assert (code, out) == (0, "purged 1 resolved handoff(s) resolved more than 30 day(s) ago\n")
    assert store.get(old.reference) is None and store.get(still_open.reference) is not None
    assert run(capsys, "purge", "--older-than-days", "3")[1].startswith("purged 1 ")
    assert store.get(recent.reference) is None and store.get(still_open.reference) is not None
    assert run(capsys, "purge", "--older-than-days", "-1")[0] == 2


def test_purge_defaults_to_the_retention_setting(
    store: HandoffStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = store.escalate("rest", "a", "no_answer", [])
    store.resolve(old.reference, "Asha", now=NOW - timedelta(days=10))
    monkeypatch.setenv("FAQBOT_RETENTION_DAYS", "7")
    code, out, _ = run(capsys, "purge")
    assert (code, out) == (0, "purged 1 resolved handoff(s) resolved more than 7 day(s) ago\n")
    assert store.get(old.reference) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "error: DATABASE_URL is not a database URL"),
        ("mysql://root@localhost/clinic", "error: DATABASE_URL uses 'mysql'"),
    ],
)
def test_bad_database_url_is_a_clear_error(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run(capsys, "list")
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def python_m_handoffs_list(db_url: str) -> "subprocess.CompletedProcess[str]":
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "handoffs", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_dash_m_handoffs(store: HandoffStore, db_url: str) -> None:
    _, high = seed(store)
    done = python_m_handoffs_list(db_url)
    assert done.returncode == 0, done.stderr
    assert high.reference in done.stdout

    bad = python_m_handoffs_list("garbage://")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1


# C1 controls (U+009B is CSI on some terminals) and bidi controls (reorder what follows).
INVISIBLE = [
    "\x85",
    "\x9b",
    "\x9f",
    "\u061c",
    "\u200e",
    "\u200f",
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
]


def escaped(char: str) -> str:
    return f"\\u{ord(char):04x}"


def test_c1_and_bidi_controls_are_escaped_in_everything_printed(
    store: HandoffStore, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "call me\u202e01234\u202c now \x9b31m" + "".join(INVISIBLE)
    made = store.escalate(
        "rest\u2067",
        "p\u200f1",
        "no_answer",
        [Turn("patient", text, NOW)],
        contact=Contact("phone", "+91\u202e98765"),
        sinks=["webhook"],
    )
    store.claim(made.reference, "Asha\u2066")
    store.resolve(made.reference, "Asha\u2066", note="done\x85\u202d")
    outputs = {
        "show": run(capsys, "show", made.reference),
        "list": run(capsys, "list"),
        "show --json": run(capsys, "show", made.reference, "--json"),
        "list --json": run(capsys, "list", "--json"),
    }
    for name, (code, out, err) in outputs.items():
        assert code == 0 and err == "", name
        raw = [char for char in INVISIBLE if char in out]
        assert not raw, (name, raw)
    show = outputs["show"][1]
    assert "call me\\u202e01234\\u202c now \\u009b31m" in show
    assert "".join(escaped(char) for char in INVISIBLE) in show
    assert "channel:     rest\\u2067   sender: p\\u200f1" in show
    assert "contact:     phone +91\\u202e98765" in show
    assert "claimed by:  Asha\\u2066" in show and "note:        done\\u0085\\u202d" in show
    assert "rest\\u2067" in outputs["list"][1] and "Asha\\u2066" in outputs["list"][1]
    # The JSON output is escaped with JSON's own \u escapes: it still decodes to the data.
    shown = json.loads(outputs["show --json"][1])
    assert shown["turns"][0]["text"] == text and shown["sender_id"] == "p\u200f1"
    assert shown["contact"]["value"] == "+91\u202e98765" and shown["note"] == "done\x85\u202d"
    [listed] = json.loads(outputs["list --json"][1])
    assert (listed["channel"], listed["resolved_by"]) == ("rest\u2067", "Asha\u2066")


def test_c0_controls_stay_replaced_and_plain_text_is_untouched(
    store: HandoffStore, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "naïve café – ok? \u05e9\u05dc\u05d5\u05dd \x1b[31m"
    made = store.escalate("rest", "p1", "no_answer", [Turn("patient", text)])
    out = run(capsys, "show", made.reference)[1]
    assert "naïve café – ok? \u05e9\u05dc\u05d5\u05dd \ufffd[31m" in out
    assert "\\u" not in out
