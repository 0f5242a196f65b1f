"""``faqbot ask``: one question through the running bot, printed for staff or as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from scripts.stack import Stack, base_env, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def faqbot(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.ask", *args],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def url_of(stack: Stack) -> List[str]:
    return ["--url", f"http://127.0.0.1:{stack.rasa_port}"]


def test_prints_the_cited_answer_with_decision_and_scores(stack: Stack) -> None:
    done = faqbot("ask", "how does exosome therapy help diabetic kidney disease", *url_of(stack))
    assert done.returncode == 0, done.stderr
    assert "Here is what our article says:" in done.stdout and "Source: " in done.stdout
    assert "decision: answer" in done.stdout and "condition: nephropathy" in done.stdout
    assert "cited  0." in done.stdout and "ranked 0." in done.stdout


def test_json_output_uses_the_same_decision_path_as_patients(stack: Stack) -> None:
    done = faqbot("ask", "I have crushing chest pain right now", "--json", *url_of(stack))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kinds"][0] == "emergency"
    assert any("108 (ambulance) or 112" in m.get("text", "") for m in data["messages"])

    advice = json.loads(faqbot("ask", "should I stop my insulin?", "--json", *url_of(stack)).stdout)
    assert "medical_advice" in advice["kinds"]


def test_no_bot_and_no_start_is_a_clear_error() -> None:
    done = faqbot(
        "ask", "what are exosomes", "--no-start", "--url", f"http://127.0.0.1:{free_port()}"
    )
    assert done.returncode == 2
    assert "no bot answers" in done.stderr and "make run" in done.stderr
    assert "Traceback" not in done.stderr
