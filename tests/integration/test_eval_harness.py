"""`make eval`: the harness runs the real bot and prints the metrics as its last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_eval(cases: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.evaluate", str(cases)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]
    return dict(json.loads(last))


@pytest.fixture(scope="module")
def dev_metrics() -> dict:
    return run_eval(ROOT / "tests" / "eval" / "dev.yml")


def test_harness_reports_every_metric(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yml"
    cases.write_text(
        "cases:\n"
        '- {text: "how many sessions will I need?", expect: answer, '
        'keys: ["three to five treatments"]}\n'
        '- {text: "who won the football world cup", expect: out_of_scope}\n'
        '- {text: "hello there", expect: chitchat}\n'
    )
    metrics = run_eval(cases)
    assert set(metrics) == {
        "answer",
        "out_of_scope",
        "medical_advice",
        "emergency",
        "human",
        "chitchat",
        "baselines",
    }
    assert metrics["answer"]["n"] == 1 and metrics["answer"]["hit@1"] == 1.0
    assert metrics["out_of_scope"]["accuracy"] == 1.0
    assert metrics["chitchat"]["accuracy"] == 1.0
    assert set(metrics["baselines"]) == {"bm25", "dense"}


def test_dev_set_answer_bars(dev_metrics: dict) -> None:
    answer = dev_metrics["answer"]
    assert answer["n"] >= 120
    assert answer["hit@1"] >= 0.85, answer
    assert answer["hit@3"] >= 0.95, answer
    assert dev_metrics["out_of_scope"]["accuracy"] >= 0.90


def test_fusion_beats_both_baselines(dev_metrics: dict) -> None:
    hit1 = dev_metrics["answer"]["hit@1"]
    assert hit1 > dev_metrics["baselines"]["bm25"]["hit@1"]
    assert hit1 > dev_metrics["baselines"]["dense"]["hit@1"]


def test_dev_set_safety_bars(dev_metrics: dict) -> None:
    emergency = dev_metrics["emergency"]
    assert emergency["n"] >= 40
    assert emergency["recall"] == 1.0, emergency
    assert emergency["precision"] >= 0.9, emergency
    advice = dev_metrics["medical_advice"]
    assert advice["n"] >= 60
    assert advice["recall"] >= 0.95 and advice["precision"] >= 0.85, advice
    assert dev_metrics["human"]["recall"] >= 0.95, dev_metrics["human"]
