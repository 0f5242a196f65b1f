"""Timed build steps and cold starts: index build, training, start to first answer.

Every step runs as its own process, as ``make`` runs it, in scratch folders, so the project's
``models/`` and ``var/index`` are never touched. Training uses a fresh Rasa cache folder
(``RASA_CACHE_DIRECTORY``), otherwise Rasa would reuse cached components and time nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from knowledge.schema import Kind, kind_of
from scripts.stack import ROOT, Stack, base_env, free_port, post_json

BIN = Path(sys.executable).parent
INDEX_TIME = re.compile(r"index written to .* in ([0-9.]+) s")
COLD_START_TIMEOUT = 300.0
# A question that every build of our bot answers from the articles.
PROBE_QUESTION = "how many sessions will I need?"


class BuildError(RuntimeError):
    """A timed build step failed."""


def is_up(url: str, timeout: float = 0.5) -> bool:
    """Whether a GET of ``url`` (on loopback) gets any HTTP answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def run_timed(args: Sequence[str], cwd: Path, env: Dict[str, str], log: Path) -> Tuple[float, str]:
    """Run a command to completion; its wall-clock seconds and its output (also in ``log``).

    Raises:
        BuildError: The command exited with a non-zero code.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own venv's programs)
        list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    log.write_text(output, encoding="utf-8")
    if done.returncode != 0:
        raise BuildError(f"{' '.join(args[:3])} failed ({done.returncode}); see {log}")
    return seconds, output


def time_index_build(log_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """``python -m knowledge index`` into a scratch folder.

    Returns:
        ``wall_s`` (process start to exit: imports, model load, sectioning, embedding, writing)
        and ``build_s`` (the build itself, as the command reports it).
    """
    with tempfile.TemporaryDirectory(prefix="bench-index-") as scratch:
        env = {**base_env(), **(extra_env or {}), "FAQBOT_INDEX_DIR": scratch}
        wall, output = run_timed(
            [sys.executable, "-m", "knowledge", "index"], ROOT, env, log_dir / "index.log"
        )
    match = INDEX_TIME.search(output)
    return {"wall_s": round(wall, 2), "build_s": round(float(match.group(1)), 2) if match else -1}


def train_args(config: str, domain: str, data: str, out: Path) -> List[str]:
    """``rasa train`` arguments (as ``make train`` uses them, but into ``out``)."""
    return [
        str(BIN / "rasa"),
        "train",
        "--config",
        config,
        "--domain",
        domain,
        "--data",
        data,
        "--out",
        str(out),
        "--fixed-model-name",
        "faqbot",
    ]


def time_training(log_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """``rasa train`` of our bot into a scratch folder with an empty Rasa cache."""
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        env = {**base_env(), **(extra_env or {}), "RASA_CACHE_DIRECTORY": f"{scratch}/cache"}
        args = train_args("config.yml", "bot/domain.yml", "bot/data", Path(scratch) / "models")
        wall, _ = run_timed(args, ROOT, env, log_dir / "train.log")
    return {"wall_s": round(wall, 2)}


@dataclass
class ColdStart:
    """Seconds from spawning the processes until each milestone.

    Attributes:
        first_answer_s: Until the first reply that answers the probe message.
        http_ready_s: Until the Rasa server answered ``GET /``.
        actions_ready_s: Until the action server answered ``/health`` (``None`` without one).
        attempts: Probe messages sent until the answer.
    """

    first_answer_s: float
    http_ready_s: float
    actions_ready_s: Optional[float]
    attempts: int

    def as_dict(self) -> Dict[str, object]:
        """Rounded for the report."""
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def wait_first_answer(
    rasa_url: str,
    rest_url: str,
    probe: str,
    accept: Callable[[List[dict]], bool],
    alive: Callable[[], bool],
    started: float,
    actions_url: Optional[str] = None,
    timeout: float = COLD_START_TIMEOUT,
) -> ColdStart:
    """Poll until the bot answers ``probe`` with a reply ``accept`` likes.

    Raises:
        BuildError: A process exited, or the time ran out.
    """
    http_ready: Optional[float] = None
    actions_ready: Optional[float] = None
    attempts = 0
    while True:
        now = time.perf_counter() - started
        if now > timeout:
            raise BuildError(f"no answer {timeout:.0f} s after start")
        if not alive():
            raise BuildError("a server exited during start-up")
        if actions_url and actions_ready is None and is_up(actions_url):
            actions_ready = time.perf_counter() - started
        if http_ready is None:
            if not is_up(rasa_url):
                time.sleep(0.1)
                continue
            http_ready = time.perf_counter() - started
        attempts += 1
        try:
            reply = post_json(rest_url, {"sender": f"cold-start-{attempts}", "message": probe}, 60)
        except (urllib.error.URLError, OSError, ValueError):
            reply = None
        messages = [m for m in reply if isinstance(m, dict)] if isinstance(reply, list) else []
        if accept(messages):
            answered = time.perf_counter() - started
            return ColdStart(answered, http_ready, actions_ready, attempts)
        time.sleep(0.1)


def answers(messages: List[dict]) -> bool:
    """Whether our bot's reply is an answer from the articles."""
    return any(kind_of(m) == Kind.ANSWER for m in messages)


def cold_start_ours(log_dir: Path, extra_env: Dict[str, str]) -> Tuple[ColdStart, Stack]:
    """Start our action server and Rasa server; time them to the first answered question.

    Returns:
        The timings and the running stack (the caller stops it).
    """
    stack = Stack(free_port(), free_port(), log_dir=log_dir, extra_env=extra_env)
    started = time.perf_counter()
    stack.start_actions()
    stack.start_rasa()
    try:
        timing = wait_first_answer(
            f"http://127.0.0.1:{stack.rasa_port}/",
            stack.rest_url,
            PROBE_QUESTION,
            answers,
            lambda: all(p.poll() is None for p in stack.procs.values()),
            started,
            actions_url=f"http://127.0.0.1:{stack.action_port}/health",
        )
    except BaseException:
        stack.stop()
        raise
    return timing, stack
