"""The benchmark run: build timings, cold starts, retrieval, load per user count, soak.

Both bots run at the same time (each idle while the other is measured), and the order in which
they are measured alternates between repetitions, so drifting background load on the shared
machine does not favour one of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench import SCENARIOS, builds, retrieval
from bench.conversations import (
    ANSWER_CATEGORIES,
    DEV_SET,
    GREET,
    ConversationMix,
    dev_questions,
    turn_bands,
)
from bench.load import LoadClient, RunResult
from bench.procs import MemorySampler
from bench.stats import combine_runs, summarize
from bench.stock import StockBot, StockServer
from knowledge.evaluation import load_cases
from scripts.stack import TOOL_LIMITS_ENV, Stack

OURS = "ours"
STOCK = "stock"
LOAD_KEYS = ("throughput", "p50", "p95", "p99", "errors")
TURN_KEYS = ("p50", "p95", "p99")


@dataclass
class BenchConfig:
    """How long and how often each scenario runs.

    Attributes:
        log_dir: Where the servers' and build steps' logs go.
        repeat: Repetitions of every load level (medians are taken over them).
        load_duration: Measured seconds per load run.
        warmup: Unrecorded seconds before each load run.
        users: Concurrent users per load level.
        soak_s: Soak length in seconds.
        soak_users: Users of the soak.
        soak_rate: Messages per second of the soak; ``None`` for half of our measured throughput
            at the highest load level.
        cold_starts: Cold starts per bot.
        index_builds: Index builds timed.
        trainings: Trainings of our bot timed.
        stock_trainings: Training times of the stock bot wanted (cached ones count).
        retrieval_passes: Passes over the dev set for retrieval alone.
        long_turns: Turns of the long conversation (one sender).
        long_repeat: Long conversations per bot (each with a new sender id).
        stock: Whether to run the stock bot side by side.
        mode: ``full`` or ``smoke`` (recorded in the results).
        scenarios: The scenarios to run (:data:`SCENARIOS`).
    """

    log_dir: Path
    repeat: int = 3
    load_duration: float = 30.0
    warmup: float = 2.0
    users: Tuple[int, ...] = (1, 8, 32)
    soak_s: float = 600.0
    soak_users: int = 8
    soak_rate: Optional[float] = None
    cold_starts: int = 3
    index_builds: int = 3
    trainings: int = 3
    stock_trainings: int = 3
    retrieval_passes: int = 3
    long_turns: int = 300
    long_repeat: int = 3
    stock: bool = True
    mode: str = "full"
    scenarios: Tuple[str, ...] = SCENARIOS


def bench_env(scratch: Path) -> Dict[str, str]:
    """Extra environment of our servers during the benchmark.

    Handoffs and conversations go to throwaway SQLite files, never the clinic's. The per-client
    limits are lifted (the load generator is one client on loopback), and so is the per-sender
    one, for the long conversation (300 turns from one sender in well under a minute); the load
    scenarios stay under it anyway (a new sender id per 10-turn conversation).
    """
    return {
        **TOOL_LIMITS_ENV,
        "FAQBOT_RATE_LIMIT": "100000",
        "DATABASE_URL": f"sqlite:///{scratch}/handoffs.db",
        "FAQBOT_TRACKER_URL": f"sqlite:///{scratch}/conversations.db",
    }


def _log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def _load_avg() -> List[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Runner:
    """Runs every scenario and collects the raw results for :mod:`bench.report`."""

    def __init__(self, config: BenchConfig, progress: Callable[[str], None] = _log):
        """Keep the configuration; nothing starts until :meth:`run`."""
        self.config = config
        self.log = progress
        self.results: Dict[str, Any] = {}
        self.cdfs: Dict[str, List[float]] = {}
        self.load_avg: Dict[str, List[float]] = {}

    def _note_load(self, label: str) -> None:
        self.load_avg[label] = _load_avg()

    def build_timings(self) -> None:
        """Index builds, trainings of our bot, and the stock bot's training (cached)."""
        cfg = self.config
        self._note_load("builds")
        index = []
        for i in range(cfg.index_builds):
            self.log(f"index build {i + 1}/{cfg.index_builds}")
            index.append(builds.time_index_build(cfg.log_dir))
        train = []
        for i in range(cfg.trainings):
            self.log(f"training our bot {i + 1}/{cfg.trainings}")
            train.append(builds.time_training(cfg.log_dir))
        self.results["index_build"] = combine_runs(index, ("wall_s", "build_s"))
        self.results["training"] = {OURS: combine_runs(train, ("wall_s",))}
        if cfg.stock:
            self.log("stock bot: build or reuse the cached model and its training times")
            stock = StockBot().ensure_built(cfg.stock_trainings, cfg.log_dir)
            self.results["training"][STOCK] = stock

    def cold_starts(self, env: Dict[str, str]) -> Tuple[Stack, Optional[StockServer]]:
        """Cold-start each bot ``cold_starts`` times; the last start of each keeps running."""
        cfg = self.config
        self._note_load("cold_start")
        ours: List[Dict[str, object]] = []
        stock: List[Dict[str, object]] = []
        stack: Optional[Stack] = None
        server: Optional[StockServer] = None
        bot = StockBot() if cfg.stock else None
        try:
            for i in range(cfg.cold_starts):
                last = i == cfg.cold_starts - 1
                self.log(f"cold start of our bot {i + 1}/{cfg.cold_starts}")
                timing, stack = builds.cold_start_ours(cfg.log_dir / "ours", env)
                ours.append(timing.as_dict())
                if not last:
                    stack.stop()
                    stack = None
                if bot is not None:
                    self.log(f"cold start of the stock bot {i + 1}/{cfg.cold_starts}")
                    server = StockServer(bot, cfg.log_dir / "stock")
                    stock.append(server.start().as_dict())
                    if not last:
                        server.stop()
                        server = None
        except BaseException:
            if stack is not None:
                stack.stop()
            if server is not None:
                server.stop()
            raise
        keys = ("first_answer_s", "http_ready_s", "actions_ready_s")
        self.results["cold_start"] = {OURS: combine_runs(ours, keys)}
        self.results["cold_start"][OURS]["samples"] = ours
        if stock:
            self.results["cold_start"][STOCK] = combine_runs(stock, keys)
            self.results["cold_start"][STOCK]["samples"] = stock
        assert stack is not None  # noqa: S101 (cold_starts >= 1)
        return stack, server

    def retrieval(self) -> None:
        """Scenario 1 in this process."""
        cfg = self.config
        self._note_load("retrieval")
        self.log(f"retrieval alone: {cfg.retrieval_passes} pass(es) over the dev set")
        questions = [case.text for case in load_cases(DEV_SET)]
        result = retrieval.run_retrieval(questions, cfg.retrieval_passes)
        self.cdfs["retrieval"] = result.pop("latencies")
        self.results["retrieval"] = result

    def load(self, urls: Dict[str, str]) -> None:
        """Scenarios 2 and 3: every load level, ``repeat`` times, bots in alternating order."""
        cfg = self.config
        self._note_load("load")
        questions = dev_questions()
        per_level: Dict[int, Dict[str, List[RunResult]]] = {
            u: {bot: [] for bot in urls} for u in cfg.users
        }
        for rep in range(cfg.repeat):
            for users in cfg.users:
                order = list(urls) if rep % 2 == 0 else list(reversed(list(urls)))
                for bot in order:
                    self.log(
                        f"load: {bot}, {users} user(s), run {rep + 1}/{cfg.repeat} "
                        f"({cfg.load_duration:.0f} s)"
                    )
                    client = LoadClient(urls[bot], empty_is_error=bot == OURS)
                    mix = ConversationMix(questions, seed=1000 * rep + users)
                    run = asyncio.run(client.closed_loop(mix, users, cfg.load_duration, cfg.warmup))
                    per_level[users][bot].append(run)
        self.results["load"] = {}
        for users, bots in per_level.items():
            level: Dict[str, Any] = {}
            for bot, runs in bots.items():
                summaries = [r.summary() for r in runs]
                level[bot] = combine_runs(summaries, LOAD_KEYS)
                level[bot]["errors_total"] = sum(s["errors"] for s in summaries)
                level[bot]["messages_total"] = sum(s["messages"] for s in summaries)
                level[bot]["error_reasons"] = _merge(s["error_reasons"] for s in summaries)
                level[bot]["reply_kinds"] = _merge(s["reply_kinds"] for s in summaries)
                level[bot]["per_run"] = [
                    {k: s.get(k) for k in LOAD_KEYS + ("n", "messages")} for s in summaries
                ]
                self.cdfs[f"load-{users}-{bot}"] = [x for r in runs for x in r.latencies()]
            self.results["load"][str(users)] = level
        one = min(cfg.users)
        self.results["one_user"] = {
            "users": one,
            **{
                bot: {
                    "answer": _turns(per_level[one][bot], ANSWER_CATEGORIES),
                    "greet": _turns(per_level[one][bot], (GREET,)),
                }
                for bot in urls
            },
        }
        for bot in urls:
            for category in ("answer", "greet"):
                cats = ANSWER_CATEGORIES if category == "answer" else (GREET,)
                self.cdfs[f"one-{bot}-{category}"] = [
                    x for r in per_level[one][bot] for x in r.latencies(cats)
                ]

    def long_conversation(self, urls: Dict[str, str]) -> None:
        """One sender, ``long_turns`` turns in a row, ``long_repeat`` times per bot, alternating.

        Each repetition is a new conversation (a new sender id) with the same messages for both
        bots. The medians of the first, a middle and the last tenth of the turns
        (:func:`bench.conversations.turn_bands`) show whether a turn costs more as the
        conversation grows.
        """
        cfg = self.config
        self._note_load("long")
        mix = ConversationMix(dev_questions(), seed=300)
        messages = mix.long_conversation(cfg.long_turns)
        runs: Dict[str, List[RunResult]] = {bot: [] for bot in urls}
        for rep in range(cfg.long_repeat):
            order = list(urls) if rep % 2 == 0 else list(reversed(list(urls)))
            for bot in order:
                self.log(
                    f"long conversation: {bot}, {cfg.long_turns} turns, "
                    f"run {rep + 1}/{cfg.long_repeat}"
                )
                client = LoadClient(urls[bot], empty_is_error=bot == OURS)
                sender = f"long-{client.run_id}-{rep}"
                runs[bot].append(asyncio.run(client.one_sender(messages, sender)))
        self.results["long"] = long_summary(runs, cfg.long_turns)
        for bot, bot_runs in runs.items():
            self.cdfs[f"long-{bot}"] = [x for r in bot_runs for x in r.latencies()]

    def soak(self, stack: Stack, sampler: MemorySampler) -> None:
        """A steady paced load on our bot for ``soak_s`` seconds: lost messages, RSS growth."""
        cfg = self.config
        self._note_load("soak")
        rate = cfg.soak_rate
        if rate is None:
            top = str(max(cfg.users))
            saturation = (self.results.get("load", {}).get(top, {}).get(OURS) or {}).get(
                "throughput"
            )
            rate = round(max(1.0, 0.5 * float(saturation or 10.0)), 1)
        self.log(f"soak: {cfg.soak_s:.0f} s at {rate} messages/s from {cfg.soak_users} users")
        before = sampler.sample()
        t0 = time.monotonic()
        client = LoadClient(stack.rest_url, empty_is_error=True)
        mix = ConversationMix(dev_questions(), seed=606)
        run = asyncio.run(client.paced(mix, cfg.soak_users, rate, cfg.soak_s))
        after = sampler.sample()
        summary = run.summary()
        offset = sampler.elapsed(t0)
        timeline = [
            (round(t - offset, 1), {k: round(v, 1) for k, v in s.items()})
            for t, s in sampler.samples
            if t >= offset
        ]
        memory = {}
        for name in ("ours_rasa", "ours_actions"):
            start, end = before[name], after[name]
            half = [s[name] for t, s in timeline if t >= cfg.soak_s / 2]
            memory[name] = {
                "start_mib": round(start, 1),
                "end_mib": round(end, 1),
                "peak_mib": round(max([s[name] for _, s in timeline] + [start, end]), 1),
                "growth_pct": round(100.0 * (end - start) / start, 2) if start else None,
                "second_half_growth_pct": (
                    round(100.0 * (end - half[0]) / half[0], 2) if half and half[0] else None
                ),
            }
        self.results["soak"] = {
            "duration_s": cfg.soak_s,
            "rate": rate,
            "users": cfg.soak_users,
            "sent": summary["messages"],
            "lost": summary["errors"],
            "lost_reasons": summary["error_reasons"],
            "achieved_rate": round(summary["messages"] / run.window_s, 2),
            "latency": {k: summary.get(k) for k in ("p50", "p95", "p99")},
            "memory": memory,
            "timeline": [
                {"t": t, **{k: v for k, v in s.items() if k.startswith(OURS)}} for t, s in timeline
            ],
        }

    def run(self) -> Dict[str, Any]:
        """Every scenario, in order; servers are stopped whatever happens."""
        cfg = self.config
        started = time.perf_counter()
        self.results["meta"] = meta(cfg)
        if "builds" in cfg.scenarios:
            self.build_timings()
        elif cfg.stock:
            self.log("stock bot: build it unless cached")
            StockBot().ensure_built(1, cfg.log_dir)
        with tempfile.TemporaryDirectory(prefix="bench-scratch-") as scratch:
            stack, server = self.cold_starts(bench_env(Path(scratch)))
            pids = {
                "ours_rasa": stack.procs["rasa"].pid,
                "ours_actions": stack.procs["actions"].pid,
            }
            if server is not None:
                pids["stock_rasa"] = server.procs["rasa"].pid
                if "actions" in server.procs:
                    pids["stock_actions"] = server.procs["actions"].pid
            sampler = MemorySampler(pids).start()
            try:
                if "retrieval" in cfg.scenarios:
                    self.retrieval()
                urls = {OURS: stack.rest_url}
                if server is not None:
                    urls[STOCK] = server.rest_url
                if "load" in cfg.scenarios:
                    self.load(urls)
                if "long" in cfg.scenarios:
                    self.long_conversation(urls)
                memory = sampler.peaks()
                if server is not None:
                    server.stop()
                    server = None
                if "soak" in cfg.scenarios:
                    self.soak(stack, sampler)
                memory.update({k: v for k, v in sampler.peaks().items() if k.startswith(OURS)})
                self.results["memory"] = memory
            finally:
                sampler.stop()
                stack.stop()
                if server is not None:
                    server.stop()
        self.results["meta"]["load_avg"] = self.load_avg
        self.results["meta"]["load_avg"]["end"] = _load_avg()
        self.results["meta"]["finished_at"] = _now()
        self.results["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
        return self.results


def long_summary(runs: Dict[str, List[RunResult]], turns: int) -> Dict[str, Any]:
    """Per bot: the median latency of each band of turns over all runs, and last band / first.

    A failed turn has no latency: a band's median is over its successful turns, and the errors
    are counted.
    """
    bands = turn_bands(turns)
    out: Dict[str, Any] = {"turns": turns, "bands": [list(b) for b in bands]}
    for bot, bot_runs in runs.items():
        medians: List[Optional[float]] = []
        per_run: List[List[Optional[float]]] = []
        for first, last in bands:
            pooled: List[float] = []
            of_runs: List[Optional[float]] = []
            for run in bot_runs:
                values = [t.latency_ms for t in run.turns[first - 1 : last] if t.error is None]
                pooled += values
                of_runs.append(round(statistics.median(values), 2) if values else None)
            medians.append(round(statistics.median(pooled), 2) if pooled else None)
            per_run.append(of_runs)
        first_median, last_median = medians[0], medians[-1]
        out[bot] = {
            "runs": len(bot_runs),
            "band_p50": medians,
            "band_p50_per_run": per_run,
            "last_over_first": (
                round(last_median / first_median, 3)
                if first_median and last_median is not None
                else None
            ),
            "errors": sum(len(r.errors) for r in bot_runs),
            "messages": sum(len(r.turns) for r in bot_runs),
        }
    return out


def _turns(runs: List[RunResult], categories: Tuple[str, ...]) -> Dict[str, Any]:
    summaries = [summarize(r.latencies(categories)) for r in runs]
    out = combine_runs(summaries, TURN_KEYS)
    out["n"] = sum(int(s["n"]) for s in summaries)
    return out


def _merge(counts: Any) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for mapping in counts:
        for key, value in mapping.items():
            out[key] = out.get(key, 0) + int(value)
    return out


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def meta(cfg: BenchConfig) -> Dict[str, Any]:
    """What ran where: versions, machine, configuration."""
    import aiohttp

    from bench.stock import rasa_version
    from knowledge.embedding import native_bfloat16

    settings = {k: v for k, v in vars(cfg).items() if k != "log_dir"}
    settings["users"] = list(cfg.users)
    return {
        "started_at": _now(),
        "mode": cfg.mode,
        "config": settings,
        "rasa_version": rasa_version(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "native_bfloat16": native_bfloat16(),
        "load_tool": f"asyncio + aiohttp {aiohttp.__version__} (bench/load.py)",
        "median_of": "medians over repetitions; ranges are [min, max] over repetitions",
    }
