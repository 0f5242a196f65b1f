"""Write the results: ``results.json``, ``results.md`` (tables) and ``latency.png`` (CDFs).

:func:`targets` checks the numbers against the targets of the issue; everything here is pure
apart from the writers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bench.stats import cdf_points, ratio

OURS = "ours"
STOCK = "stock"


@dataclass(frozen=True)
class Target:
    """One target of the issue and how our bot did.

    Attributes:
        name: What is measured.
        limit: The bound.
        value: The measured median (``None`` when not measured).
        upper: ``True`` when the value must be at most ``limit``, ``False`` for at least.
        unit: Unit of value and limit.
    """

    name: str
    limit: float
    value: Optional[float]
    upper: bool = True
    unit: str = ""

    @property
    def met(self) -> Optional[bool]:
        """Whether the target is met (``None`` when not measured)."""
        if self.value is None:
            return None
        return self.value <= self.limit if self.upper else self.value >= self.limit

    @property
    def margin(self) -> Optional[str]:
        """By how much it is missed or met, in percent of the limit."""
        if self.value is None or self.limit == 0:
            return None
        over = (self.value - self.limit) / self.limit * 100.0
        if not self.upper:
            over = -over
        word = "over" if over > 0 else "under"
        if not self.upper:
            word = "short" if over > 0 else "above"
        return f"{abs(over):.0f}% {word}"

    def as_dict(self) -> Dict[str, Any]:
        """For ``results.json``."""
        bound = "<=" if self.upper else ">="
        return {
            "name": self.name,
            "target": f"{bound} {self.limit:g} {self.unit}".strip(),
            "value": self.value,
            "met": self.met,
            "margin": self.margin,
        }


def _get(data: Mapping[str, Any], *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def targets(results: Mapping[str, Any]) -> List[Target]:
    """The issue's targets for our bot, with the measured medians."""
    top = str(max((int(u) for u in (results.get("load") or {"32": 0})), default=32))
    ours_tp = _get(results, "load", top, OURS, "throughput")
    stock_tp = _get(results, "load", top, STOCK, "throughput")
    errors = _get(results, "load", top, OURS, "errors_total")
    out = [
        Target("retrieval alone p50", 5, _get(results, "retrieval", "total", "p50"), unit="ms"),
        Target("retrieval alone p95", 10, _get(results, "retrieval", "total", "p95"), unit="ms"),
        Target(
            "one user, answer turns p50",
            40,
            _get(results, "one_user", OURS, "answer", "p50"),
            unit="ms",
        ),
        Target(
            "one user, answer turns p95",
            80,
            _get(results, "one_user", OURS, "answer", "p95"),
            unit="ms",
        ),
        Target(
            f"{top} users, throughput vs stock",
            2.0,
            ratio(ours_tp, stock_tp),
            upper=False,
            unit="x",
        ),
        Target(f"{top} users, p95", 600, _get(results, "load", top, OURS, "p95"), unit="ms"),
        Target(f"{top} users, errors", 0, None if errors is None else float(errors)),
        Target(
            "cold start to first answer",
            15,
            _get(results, "cold_start", OURS, "first_answer_s"),
            unit="s",
        ),
        Target("training", 60, _get(results, "training", OURS, "wall_s"), unit="s"),
        Target("index build", 10, _get(results, "index_build", "wall_s"), unit="s"),
        Target("soak, lost messages", 0, _float(_get(results, "soak", "lost"))),
    ]
    long = results.get("long") or {}
    if long.get("bands"):
        first, last = long["bands"][0], long["bands"][-1]
        out.append(
            Target(
                f"long conversation, turns {last[0]}-{last[1]} / {first[0]}-{first[1]} (p50)",
                1.3,
                _get(long, OURS, "last_over_first"),
                unit="x",
            )
        )
    for name in ("ours_rasa", "ours_actions"):
        growth = _get(results, "soak", "memory", name, "growth_pct")
        out.append(Target(f"soak, RSS growth {name}", 10, growth, unit="%"))
    return out


def _float(value: Any) -> Optional[float]:
    return None if value is None else float(value)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _row(label: str, ours: Any, stock: Any, digits: int = 1, lower_better: bool = True) -> str:
    rel = (
        ratio(ours, stock)
        if isinstance(ours, (int, float)) and isinstance(stock, (int, float))
        else None
    )
    return f"| {label} | {_fmt(ours, digits)} | {_fmt(stock, digits)} | {_fmt(rel, 2)} |"


def _range(node: Mapping[str, Any], key: str) -> str:
    spread = node.get(f"{key}_range")
    return f"{spread[0]:g}–{spread[1]:g}" if spread else "–"


def markdown(results: Mapping[str, Any]) -> str:
    """The results as markdown tables."""
    meta = results.get("meta", {})
    cfg = meta.get("config", {})
    lines = [
        f"# Benchmark results ({meta.get('mode', '?')} run)",
        "",
        f"Rasa {meta.get('rasa_version')}, Python {meta.get('python')}, {meta.get('cpus')} cores "
        f"of {meta.get('cpu_model', '?')} (native bfloat16: {meta.get('native_bfloat16', '?')}; "
        f"shared), started {meta.get('started_at')}, took {meta.get('duration_s')} s. "
        f"Load tool: {meta.get('load_tool')}. Every figure is the median over "
        f"{cfg.get('repeat')} repetitions (load: {cfg.get('load_duration')} s each after "
        f"{cfg.get('warmup')} s warm-up; cold starts: {cfg.get('cold_starts')}; retrieval: "
        f"{cfg.get('retrieval_passes')} passes over the dev set). Ratio = ours / stock.",
        "",
        "## Targets (our bot)",
        "",
        "| target | limit | measured | met | margin |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in targets(results):
        d = t.as_dict()
        met = {True: "yes", False: "**no**", None: "–"}[t.met]
        lines.append(
            f"| {t.name} | {d['target']} | {_fmt(t.value, 2)} | {met} | {t.margin or '–'} |"
        )
    lines += [
        "",
        "## Ours vs stock",
        "",
        "| measure | ours | stock | ratio |",
        "| --- | --- | --- | --- |",
    ]
    ret = results.get("retrieval") or {}
    for key in ("p50", "p95"):
        lines.append(_row(f"retrieval alone {key} (ms)", _get(ret, "total", key), None, 2))
    one = results.get("one_user") or {}
    for category in ("answer", "greet"):
        for key in ("p50", "p95"):
            lines.append(
                _row(
                    f"one user, {category} turns {key} (ms)",
                    _get(one, OURS, category, key),
                    _get(one, STOCK, category, key),
                )
            )
    for users, level in (results.get("load") or {}).items():
        lines.append(
            _row(
                f"{users} users: throughput (msg/s)",
                _get(level, OURS, "throughput"),
                _get(level, STOCK, "throughput"),
            )
        )
        for key in ("p50", "p95", "p99"):
            lines.append(
                _row(f"{users} users: {key} (ms)", _get(level, OURS, key), _get(level, STOCK, key))
            )
        lines.append(
            _row(
                f"{users} users: errors (all runs)",
                _get(level, OURS, "errors_total"),
                _get(level, STOCK, "errors_total"),
                0,
            )
        )
    cold = results.get("cold_start") or {}
    lines.append(
        _row(
            "cold start to first answer (s)",
            _get(cold, OURS, "first_answer_s"),
            _get(cold, STOCK, "first_answer_s"),
        )
    )
    training = results.get("training") or {}
    lines.append(
        _row("training (s)", _get(training, OURS, "wall_s"), _get(training, STOCK, "train_s"))
    )
    lines.append(_row("index build (s)", _get(results, "index_build", "wall_s"), None))
    memory = results.get("memory") or {}
    lines.append(
        _row(
            "peak RSS, Rasa server (MiB)",
            _get(memory, "ours_rasa", "peak_rss_mib"),
            _get(memory, "stock_rasa", "peak_rss_mib"),
            0,
        )
    )
    lines.append(
        _row(
            "peak RSS, action server (MiB)",
            _get(memory, "ours_actions", "peak_rss_mib"),
            _get(memory, "stock_actions", "peak_rss_mib"),
            0,
        )
    )
    stock_train = training.get(STOCK) or {}
    if stock_train:
        source = (
            "cached from earlier runs"
            if stock_train.get("from_cache")
            else (f"{stock_train.get('measured_now')} measured in this run")
        )
        lines += [
            "",
            f"Stock training: median of {stock_train.get('runs')} trainings ({source}).",
        ]
    lines += _long_lines(results.get("long"))
    lines += _noise_lines(results)
    lines += _soak_lines(results.get("soak"))
    return "\n".join(lines) + "\n"


def _noise_lines(results: Mapping[str, Any]) -> List[str]:
    lines = ["", "## Noise", ""]
    ret = results.get("retrieval") or {}
    if ret:
        lines.append(f"- retrieval p50 over passes: {_range(ret.get('total', {}), 'p50')} ms")
    for users, level in (results.get("load") or {}).items():
        for bot in (OURS, STOCK):
            node = level.get(bot)
            if node:
                lines.append(
                    f"- {users} users, {bot}: throughput {_range(node, 'throughput')} msg/s, "
                    f"p50 {_range(node, 'p50')} ms, p95 {_range(node, 'p95')} ms over runs"
                )
    for bot in (OURS, STOCK):
        node = _get(results, "cold_start", bot)
        if node:
            lines.append(f"- cold start, {bot}: {_range(node, 'first_answer_s')} s")
    load_avg = _get(results, "meta", "load_avg") or {}
    if load_avg:
        avg = ", ".join(f"{k} {v[0]}" for k, v in load_avg.items())
        lines.append(f"- 1-minute load average at the start of each phase: {avg}")
    return lines


def _long_lines(long: Optional[Mapping[str, Any]]) -> List[str]:
    if not long or not long.get("bands"):
        return []
    bands = [f"{a}-{b}" for a, b in long["bands"]]
    runs = max((long.get(bot) or {}).get("runs", 0) for bot in (OURS, STOCK))
    lines = [
        "",
        "## Long conversation",
        "",
        f"One sender, {long['turns']} turns in a row (greetings, questions, follow-ups, thanks, "
        f"goodbyes), {runs} conversation(s) per bot, the bots alternating. Median reply time "
        "(ms) of each band of turns over all conversations; growth = last band / first band.",
        "",
        "| bot | " + " | ".join(f"turns {b}" for b in bands) + " | growth | errors |",
        "| --- | " + " | ".join("---" for _ in bands) + " | --- | --- |",
    ]
    for bot in (OURS, STOCK):
        node = long.get(bot)
        if node:
            medians = " | ".join(_fmt(m) for m in node["band_p50"])
            lines.append(
                f"| {bot} | {medians} | {_fmt(node['last_over_first'], 2)}x | "
                f"{node['errors']} of {node['messages']} |"
            )
    for bot in (OURS, STOCK):
        node = long.get(bot)
        if node:
            spread = "; ".join(
                f"{band}: " + "/".join(_fmt(m) for m in of_runs)
                for band, of_runs in zip(bands, node["band_p50_per_run"])
            )
            lines.append(f"- {bot}, per conversation: {spread} ms")
    return lines


def _soak_lines(soak: Optional[Mapping[str, Any]]) -> List[str]:
    if not soak:
        return []
    lines = [
        "",
        "## Soak (our bot)",
        "",
        f"{soak['duration_s']:.0f} s at {soak['rate']} messages/s from {soak['users']} users "
        f"(achieved {soak['achieved_rate']}/s): {soak['sent']} messages sent, "
        f"**{soak['lost']} lost**; p50 {_fmt(soak['latency'].get('p50'))} ms, "
        f"p95 {_fmt(soak['latency'].get('p95'))} ms.",
        "",
        "| process | RSS start (MiB) | end (MiB) | peak (MiB) | growth | growth in 2nd half |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, mem in soak["memory"].items():
        lines.append(
            f"| {name} | {mem['start_mib']} | {mem['end_mib']} | {mem['peak_mib']} | "
            f"{_fmt(mem['growth_pct'], 2)}% | {_fmt(mem['second_half_growth_pct'], 2)}% |"
        )
    return lines


def plot(
    cdfs: Mapping[str, Sequence[float]], path: Path, soak: Optional[Mapping[str, Any]] = None
) -> None:
    """Latency CDFs per scenario (log scale), and RSS over the soak, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("retrieval alone (in process)", ["retrieval"])]
    panels.append(("one user: answer / greet turns", [k for k in cdfs if k.startswith("one-")]))
    for key in sorted({k.split("-")[1] for k in cdfs if k.startswith("load-")}, key=int):
        users = "1 user" if key == "1" else f"{key} concurrent users"
        panels.append((f"load: {users}", [k for k in cdfs if k.startswith(f"load-{key}-")]))
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for ax, (title, keys) in zip(axes.flat, panels):
        for key in keys:
            x, y = cdf_points(cdfs.get(key, []), 400)
            if x:
                ax.step(x, y, where="post", label=_label(key))
        ax.set_xscale("log")
        ax.set_title(title)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("share of messages ≤ x")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    last = axes.flat[len(panels)] if len(panels) < 6 else None
    if last is not None:
        timeline = (soak or {}).get("timeline") or []
        for name in ("ours_rasa", "ours_actions"):
            pts = [(p["t"], p[name]) for p in timeline if name in p]
            if pts:
                last.plot([t for t, _ in pts], [v for _, v in pts], label=name)
        last.set_title("soak: resident memory")
        last.set_xlabel("seconds")
        last.set_ylabel("RSS (MiB)")
        last.grid(True, alpha=0.3)
        last.legend(fontsize=8)
        for ax in list(axes.flat)[len(panels) + 1 :]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _label(key: str) -> str:
    if key == "retrieval":
        return "ours: encode + search + decision"
    parts = key.split("-")
    if parts[0] == "one":
        return f"{parts[1]}, {parts[2]} turns"
    return parts[2]


def write(
    results: Dict[str, Any], cdfs: Mapping[str, Sequence[float]], out_dir: Path
) -> List[Path]:
    """Write ``results.json``, ``results.md`` and ``latency.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = dict(results)
    results["targets"] = [t.as_dict() for t in targets(results)]
    results["cdf"] = {k: dict(zip(("x_ms", "share"), cdf_points(v, 100))) for k, v in cdfs.items()}
    paths = [out_dir / "results.json", out_dir / "results.md", out_dir / "latency.png"]
    paths[0].write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    plot(cdfs, paths[2], results.get("soak"))
    return paths
