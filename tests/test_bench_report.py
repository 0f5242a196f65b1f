"""The benchmark report: targets, markdown and the written files (no servers involved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from bench.report import Target, markdown, targets, write


def sample_results() -> Dict[str, Any]:
    level: Dict[str, Any] = {
        "ours": {"throughput": 60.0, "p50": 300.0, "p95": 500.0, "p99": 700.0, "errors_total": 0},
        "stock": {
            "throughput": 25.0,
            "p50": 900.0,
            "p95": 1400.0,
            "p99": 1900.0,
            "errors_total": 1,
        },
    }
    return {
        "meta": {"mode": "smoke", "config": {"repeat": 1}, "load_avg": {"load": [1.0, 1.0, 1.0]}},
        "retrieval": {"total": {"p50": 4.0, "p95": 12.0, "p50_range": [3.5, 4.5]}},
        "one_user": {
            "ours": {"answer": {"p50": 35.0, "p95": 70.0}, "greet": {"p50": 12.0, "p95": 20.0}},
            "stock": {"answer": {"p50": 34.0, "p95": 60.0}, "greet": {"p50": 30.0, "p95": 50.0}},
        },
        "load": {"1": level, "32": level},
        "cold_start": {"ours": {"first_answer_s": 14.0}, "stock": {"first_answer_s": 40.0}},
        "training": {"ours": {"wall_s": 30.0}, "stock": {"train_s": 83.0, "from_cache": True}},
        "index_build": {"wall_s": 9.0},
        "long": {
            "turns": 300,
            "bands": [[1, 30], [121, 150], [271, 300]],
            "ours": {
                "runs": 3,
                "band_p50": [20.0, 21.0, 22.0],
                "band_p50_per_run": [[20.0], [21.0], [22.0]],
                "last_over_first": 1.1,
                "errors": 0,
                "messages": 900,
            },
            "stock": {
                "runs": 3,
                "band_p50": [80.0, 300.0, 900.0],
                "band_p50_per_run": [[80.0], [300.0], [900.0]],
                "last_over_first": 11.25,
                "errors": 0,
                "messages": 900,
            },
        },
        "memory": {"ours_rasa": {"peak_rss_mib": 700.0}, "stock_rasa": {"peak_rss_mib": 900.0}},
        "soak": {
            "duration_s": 5.0,
            "rate": 10.0,
            "users": 8,
            "achieved_rate": 9.9,
            "sent": 50,
            "lost": 0,
            "latency": {"p50": 40.0, "p95": 90.0},
            "memory": {
                "ours_rasa": {
                    "start_mib": 700.0,
                    "end_mib": 707.0,
                    "peak_mib": 707.0,
                    "growth_pct": 1.0,
                    "second_half_growth_pct": 0.5,
                },
                "ours_actions": {
                    "start_mib": 600.0,
                    "end_mib": 690.0,
                    "peak_mib": 690.0,
                    "growth_pct": 15.0,
                    "second_half_growth_pct": 7.0,
                },
            },
            "timeline": [{"t": 0.0, "ours_rasa": 700.0, "ours_actions": 600.0}],
        },
    }


def test_targets_are_judged_against_the_issue() -> None:
    by_name = {t.name: t for t in targets(sample_results())}
    assert by_name["retrieval alone p50"].met is True
    assert by_name["retrieval alone p95"].met is False
    assert by_name["retrieval alone p95"].margin == "20% over"
    assert by_name["32 users, throughput vs stock"].value == 2.4
    assert by_name["32 users, throughput vs stock"].met is True
    assert by_name["32 users, errors"].met is True
    assert by_name["soak, RSS growth ours_actions"].met is False
    assert by_name["long conversation, turns 271-300 / 1-30 (p50)"].met is True


def test_a_target_not_measured_is_neither_met_nor_missed() -> None:
    target = Target("x", 5.0, None)
    assert target.met is None and target.margin is None
    assert Target("y", 2.0, 1.5, upper=False).margin == "25% short"


def test_markdown_has_every_table() -> None:
    text = markdown(sample_results())
    assert "## Targets (our bot)" in text
    assert "| 32 users: throughput (msg/s) | 60.0 | 25.0 | 2.40 |" in text
    assert "| cold start to first answer (s) | 14.0 | 40.0 | 0.35 |" in text
    assert "cached from earlier runs" in text
    assert "**0 lost**" in text
    assert "| ours | 20.0 | 21.0 | 22.0 | 1.10x | 0 of 900 |" in text
    assert "| stock | 80.0 | 300.0 | 900.0 | 11.25x | 0 of 900 |" in text
    assert "{" not in text.split("## Targets")[0]  # every header field filled in


def test_write_produces_json_markdown_and_png(tmp_path: Path) -> None:
    cdfs = {
        "retrieval": [3.0, 4.0, 5.0],
        "one-ours-answer": [30.0, 40.0],
        "one-stock-answer": [33.0, 35.0],
        "load-1-ours": [30.0, 31.0],
        "load-1-stock": [40.0, 41.0],
        "load-32-ours": [300.0, 320.0],
        "load-32-stock": [900.0, 950.0],
    }
    paths = write(sample_results(), cdfs, tmp_path)
    assert [p.name for p in paths] == ["results.json", "results.md", "latency.png"]
    data = json.loads(paths[0].read_text())
    assert {t["name"] for t in data["targets"]} >= {"retrieval alone p50", "index build"}
    assert data["cdf"]["retrieval"]["share"][-1] == 1.0
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
