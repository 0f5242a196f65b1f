"""Pure statistics for the benchmark: percentiles, summaries, CDF points, medians over runs."""

from __future__ import annotations

import math
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

PERCENTILES = (50, 95, 99)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as ``numpy.percentile``'s default.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside ``[0, 100]``.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return float(ordered[lo])
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def summarize(values: Sequence[float]) -> Dict[str, float]:
    """Count, mean and the p50/p95/p99 of latencies (empty input gives ``{"n": 0}``)."""
    if not values:
        return {"n": 0}
    out: Dict[str, float] = {"n": len(values), "mean": round(statistics.fmean(values), 3)}
    for q in PERCENTILES:
        out[f"p{q}"] = round(percentile(values, q), 3)
    return out


def cdf_points(values: Sequence[float], max_points: int = 200) -> Tuple[List[float], List[float]]:
    """``(x, y)`` of the empirical CDF, thinned to at most ``max_points`` evenly spaced ranks.

    ``y[i]`` is the share of values ``<= x[i]``; the last point is always the maximum (y = 1).
    """
    if max_points < 2:
        raise ValueError("max_points must be at least 2")
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return [], []
    if n <= max_points:
        ranks = list(range(n))
    else:
        step = (n - 1) / (max_points - 1)
        ranks = sorted({round(i * step) for i in range(max_points)})
    return [float(ordered[r]) for r in ranks], [(r + 1) / n for r in ranks]


def median_of(runs: Sequence[Mapping[str, Any]], key: str) -> Optional[float]:
    """Median of ``key`` over the runs that have it (``None`` if none does)."""
    values = [float(run[key]) for run in runs if key in run and run[key] is not None]
    return round(statistics.median(values), 3) if values else None


def spread_of(runs: Sequence[Mapping[str, Any]], key: str) -> Optional[List[float]]:
    """``[min, max]`` of ``key`` over the runs: how noisy the repetitions were."""
    values = [float(run[key]) for run in runs if key in run and run[key] is not None]
    return [round(min(values), 3), round(max(values), 3)] if values else None


def combine_runs(runs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> Dict[str, Any]:
    """Medians of ``keys`` over repeated runs, with their spread and the number of runs."""
    out: Dict[str, Any] = {"runs": len(runs)}
    for key in keys:
        out[key] = median_of(runs, key)
        out[f"{key}_range"] = spread_of(runs, key)
    return out


def ratio(ours: Optional[float], stock: Optional[float]) -> Optional[float]:
    """``ours / stock`` rounded to 2 decimals; ``None`` when either is missing or stock is 0."""
    if ours is None or stock is None or stock == 0:
        return None
    return round(ours / stock, 2)
