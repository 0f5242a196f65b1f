"""The benchmark's pure parts: percentiles, summaries, CDF points, medians over runs."""

from __future__ import annotations

import numpy as np
import pytest

from bench.stats import cdf_points, combine_runs, percentile, ratio, summarize


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_one_value_and_errors() -> None:
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_has_count_mean_and_percentiles() -> None:
    summary = summarize([float(x) for x in range(1, 101)])
    assert summary["n"] == 100
    assert summary["mean"] == 50.5
    assert summary["p50"] == 50.5
    assert summary["p99"] == pytest.approx(99.01)
    assert summarize([]) == {"n": 0}


def test_cdf_points_are_monotonic_and_end_at_one() -> None:
    values = list(np.random.default_rng(1).exponential(10.0, 1000))
    x, y = cdf_points(values, max_points=50)
    assert len(x) == len(y) <= 50
    assert x == sorted(x) and y == sorted(y)
    assert x[-1] == max(values) and y[-1] == 1.0
    assert x[0] == min(values) and y[0] == pytest.approx(1 / 1000)


def test_cdf_points_keep_small_samples_whole() -> None:
    assert cdf_points([2.0, 1.0]) == ([1.0, 2.0], [0.5, 1.0])
    assert cdf_points([]) == ([], [])


def test_runs_are_combined_into_medians_with_their_range() -> None:
    runs = [{"p50": 10.0, "errors": 0}, {"p50": 30.0, "errors": 2}, {"p50": 20.0, "errors": 1}]
    combined = combine_runs(runs, ("p50", "errors", "missing"))
    assert combined["runs"] == 3
    assert combined["p50"] == 20.0 and combined["p50_range"] == [10.0, 30.0]
    assert combined["errors"] == 1.0
    assert combined["missing"] is None


def test_ratio() -> None:
    assert ratio(30.0, 15.0) == 2.0
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
