"""The stock bot that ``rasa init`` creates, built with the same Rasa install, run side by side.

``rasa init --no-prompt`` copies Rasa's starter project and trains it (its default config: DIET
and ResponseSelector for 100 epochs, Memoization, Rule, UnexpecTED and TED policies). The project
and its model are cached in ``var/bench/stock-rasa-<version>/`` with every training time measured
so far (``training.json``); a run adds fresh measurements until it has as many as it asks for.
The starter project's ``endpoints.yml`` has no action endpoint (its actions are commented out), so
the stock bot needs no action server; :meth:`StockBot.needs_action_server` checks that.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bench.builds import BIN, BuildError, ColdStart, run_timed, wait_first_answer
from scripts.stack import RASA_THREAD_ENV, ROOT, base_env, free_port

CACHE_ROOT = ROOT / "var" / "bench"
TRAINING_LOG = "training.json"
PROBE = "hello"


def rasa_version() -> str:
    """The installed Rasa version."""
    from importlib.metadata import version

    return version("rasa")


def replied(messages: List[dict]) -> bool:
    """Whether the stock bot said anything."""
    return bool(messages)


class StockBot:
    """The cached starter project: build it, time its training, run it."""

    def __init__(self, cache_root: Path = CACHE_ROOT):
        """Cache folder per Rasa version under ``cache_root``."""
        self.version = rasa_version()
        self.dir = cache_root / f"stock-rasa-{self.version}"
        self.project = self.dir / "project"

    def _samples(self) -> List[Dict[str, object]]:
        try:
            data = json.loads((self.dir / TRAINING_LOG).read_text(encoding="utf-8"))
            return list(data.get("samples", []))
        except (OSError, ValueError):
            return []

    def _save(self, samples: List[Dict[str, object]]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {"rasa_version": self.version, "samples": samples}
        (self.dir / TRAINING_LOG).write_text(json.dumps(data, indent=2), encoding="utf-8")

    def model_ready(self) -> bool:
        """Whether the cached project has a trained model."""
        return any((self.project / "models").glob("*.tar.gz"))

    def _env(self, cache: str) -> Dict[str, str]:
        env = base_env()
        env["RASA_CACHE_DIRECTORY"] = cache
        return env

    def _init(self, log_dir: Path) -> float:
        """``rasa init --no-prompt`` in a fresh folder (creates and trains the starter bot)."""
        if self.project.exists():
            shutil.rmtree(self.project)
        self.project.mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="bench-stock-cache-") as cache:
            args = [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(self.project)]
            seconds, _ = run_timed(args, self.dir, self._env(cache), log_dir / "stock-init.log")
        if not self.model_ready():
            raise BuildError(f"rasa init trained no model; see {log_dir / 'stock-init.log'}")
        return seconds

    def _retrain(self, log_dir: Path) -> float:
        """``rasa train --force`` in the project with an empty Rasa cache."""
        with tempfile.TemporaryDirectory(prefix="bench-stock-cache-") as cache:
            args = [str(BIN / "rasa"), "train", "--force"]
            seconds, _ = run_timed(
                args, self.project, self._env(cache), log_dir / "stock-train.log"
            )
        return seconds

    def ensure_built(self, runs: int, log_dir: Path) -> Dict[str, object]:
        """Build the stock bot if needed and have at least ``runs`` training times.

        Returns:
            ``train_s`` (median of all measurements), ``runs``, ``measured_now`` (how many were
            measured in this call), ``from_cache`` and the individual ``samples``.
        """
        samples = self._samples() if self.model_ready() else []
        measured_now = 0
        if not self.model_ready():
            seconds = self._init(log_dir)
            samples = [self._sample(seconds, "rasa init --no-prompt (copies and trains)")]
            measured_now += 1
            self._save(samples)
        while len(samples) < runs:
            seconds = self._retrain(log_dir)
            samples.append(self._sample(seconds, "rasa train --force, empty cache"))
            measured_now += 1
            self._save(samples)
        times = [float(s["seconds"]) for s in samples]  # type: ignore[arg-type]
        return {
            "train_s": round(statistics.median(times), 2),
            "runs": len(times),
            "measured_now": measured_now,
            "from_cache": measured_now == 0,
            "samples": samples,
        }

    @staticmethod
    def _sample(seconds: float, how: str) -> Dict[str, object]:
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return {"seconds": round(seconds, 2), "how": how, "measured_at": stamp}

    def needs_action_server(self) -> bool:
        """Whether the starter project's ``endpoints.yml`` names an action endpoint."""
        data = yaml.safe_load((self.project / "endpoints.yml").read_text(encoding="utf-8"))
        return bool(data and data.get("action_endpoint"))


class StockServer:
    """``rasa run`` (and ``rasa run actions`` if the project needed one) of the stock bot."""

    def __init__(self, bot: StockBot, log_dir: Path, port: Optional[int] = None):
        """Pick free ports; nothing starts until :meth:`start`."""
        self.bot = bot
        self.port = port or free_port()
        self.action_port = free_port()
        self.log_dir = log_dir
        self.procs: Dict[str, subprocess.Popen] = {}
        self._logs: list = []

    @property
    def rest_url(self) -> str:
        """Rasa's own REST channel."""
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def _spawn(self, name: str, args: List[str], env: Dict[str, str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"stock-{name}.log", "ab")  # noqa: SIM115 (closed in stop())
        self._logs.append(log)
        self.procs[name] = subprocess.Popen(  # noqa: S603 (our own venv's rasa)
            args,
            cwd=self.bot.project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> ColdStart:
        """Start the stock bot and time it to its first reply (same thread settings as ours)."""
        env = {**RASA_THREAD_ENV, **base_env()}
        started = time.perf_counter()
        actions_url = None
        if self.bot.needs_action_server():
            self._spawn(
                "actions",
                [str(BIN / "rasa"), "run", "actions", "--port", str(self.action_port)],
                env,
            )
            actions_url = f"http://127.0.0.1:{self.action_port}/health"
        self._spawn(
            "rasa",
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                "models",
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env,
        )
        try:
            return wait_first_answer(
                f"http://127.0.0.1:{self.port}/",
                self.rest_url,
                PROBE,
                replied,
                lambda: all(p.poll() is None for p in self.procs.values()),
                started,
                actions_url=actions_url,
            )
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT, then SIGKILL after ``timeout``; close the logs."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
