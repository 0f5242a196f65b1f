"""Start and stop the bot: the rasa-sdk action server and the Rasa server, on loopback ports.

Used by ``make run`` (foreground; Ctrl-C or SIGTERM stops both), by the evaluation harness, the
tests and the benchmarks (as a context manager on free ports). On Linux the servers also get a
SIGTERM when the process that started them dies (``PR_SET_PDEATHSIG``), so that even a killed
parent leaves no server behind.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Callable, Dict, List, Optional, Sequence, Type

from knowledge.config import Settings
from knowledge.schema import kind_of

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL_DIR = ROOT / "models"
START_TIMEOUT = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# One compute thread per library and process, set deliberately for 2 shared cores: the Rasa
# server and the action server each get a core and serve requests concurrently, while a second
# OpenMP/OpenBLAS/TensorFlow thread per process only spin-waits for a core the other holds (with
# two, the action server used several times the CPU per answer; see bench/README.md).
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# TensorFlow's thread pools, for the Rasa server only: where they are set, the rasa command
# imports TensorFlow to apply them, which would cost the action server 300 MB for nothing.
RASA_THREAD_ENV = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
# The per-client limits (bot/channels/clients.py) protect a public server from one client; the
# project's own tools (evaluation, benchmarks, tests) are one client on loopback sending thousands
# of conversations on purpose, so their stacks lift them.
TOOL_LIMITS_ENV = {
    "FAQBOT_CLIENT_RATE_LIMIT": "10000000",
    "FAQBOT_NEW_CONVERSATIONS_PER_CLIENT": "10000000",
    "FAQBOT_NEW_CONVERSATIONS_GLOBAL": "10000000",
}


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl() -> Optional[Callable[..., int]]:
    """The C library's ``prctl``, looked up in the parent (nothing is loaded in a child)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return function


_PRCTL = _prctl()


def die_with_parent() -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux only).

    Popen runs ``preexec_fn`` in the child after ``setsid()`` (``start_new_session``) and before
    ``exec``; the death signal survives both. Linux sends it when the *thread* that forked exits,
    so Stack must be started from a thread that lives as long as the servers should (every user
    starts it from the main thread). If the parent died before ``prctl`` ran, the child is
    already an orphan and stops itself.
    """
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def base_env() -> Dict[str, str]:
    """Environment for the bot's processes: quiet TensorFlow, no telemetry, project on the path.

    Also one compute thread per library (:data:`THREAD_ENV`) unless the environment says otherwise.
    """
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    for key, value in THREAD_ENV.items():
        env.setdefault(key, value)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _get(url: str, timeout: float = 2.0) -> Optional[bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return bytes(response.read())
    except (urllib.error.URLError, OSError):
        return None


def post_json(url: str, body: object, timeout: float = 30.0, token: Optional[str] = None) -> object:
    """POST a JSON body (with a bearer ``token`` if given) and decode the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return json.loads(response.read() or b"null")


def _signal_group(proc: "subprocess.Popen[bytes]", signum: int) -> None:
    """Send ``signum`` to the server's process group (its session), if it still exists."""
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(proc.pid, signum)


class Stack:
    """The action server and the Rasa server as child processes."""

    def __init__(
        self,
        rasa_port: int = 5005,
        action_port: int = 5055,
        model: Path = MODEL_DIR,
        host: str = "127.0.0.1",
        log_dir: Optional[Path] = None,
        extra_env: Optional[Dict[str, str]] = None,
        rasa_options: Sequence[str] = (),
    ):
        """Configure ports, model and where the processes' logs go (inherited when ``None``).

        ``rasa_options`` are added to the ``rasa run`` command line (e.g. ``--log-file``).
        """
        self.rasa_options = tuple(rasa_options)
        self.rasa_port = rasa_port
        self.action_port = action_port
        self.model = model
        self.host = host
        self.log_dir = log_dir
        self.env = {**base_env(), **(extra_env or {})}
        self.env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{action_port}/webhook"
        # The action server refuses calls without the shared secret: one per run unless set.
        if not self.env.get("FAQBOT_ACTION_SECRET"):
            self.env["FAQBOT_ACTION_SECRET"] = secrets.token_hex(16)
        # rasa-sdk listens on every interface unless told otherwise; the action server has no
        # authentication, so it stays on loopback unless ACTION_HOST says where else.
        self.env["SANIC_HOST"] = self.env.get("ACTION_HOST", "127.0.0.1")
        self.procs: Dict[str, subprocess.Popen] = {}
        self._logs: Dict[str, IO[bytes]] = {}

    @property
    def rest_url(self) -> str:
        """The REST channel's webhook."""
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def _spawn(self, name: str, args: List[str], env: Optional[Dict[str, str]] = None) -> None:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
            self._logs[name] = out
        self.procs[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env or self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            # Its own session: a Ctrl-C in the terminal reaches only this process, which then
            # stops the servers in order (stop()).
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )

    def start_actions(self) -> None:
        """Start the action server."""
        self._spawn(
            "actions",
            [
                str(BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(self.action_port),
            ],
        )

    def rasa_args(self) -> List[str]:
        """The ``rasa run`` command line: channels, stores, CORS and (only if asked) the API."""
        settings = Settings.from_env(self.env)
        args = [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(self.model),
            "--endpoints",
            "bot/endpoints.yml",
            "--credentials",
            "bot/credentials.yml",
            "--interface",
            self.host,
            "--port",
            str(self.rasa_port),
        ]
        if settings.cors_origins:
            args += ["--cors", *settings.cors_origins]
        args += self.rasa_options
        if settings.enable_api:
            print(
                "warning: the Rasa HTTP API is enabled (FAQBOT_ENABLE_API); every call needs a "
                "JWT signed with FAQBOT_API_JWT_SECRET. Do not expose it to the internet.",
                file=sys.stderr,
                flush=True,
            )
            # The secret reaches Rasa through the environment, not the visible command line.
            args = [sys.executable, "-m", "scripts.rasa_cli", *args[1:], "--enable-api"]
        return args

    def start_rasa(self) -> None:
        """Start the Rasa server with the channels in ``bot/credentials.yml``."""
        self._spawn("rasa", self.rasa_args(), {**RASA_THREAD_ENV, **self.env})

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Block until both servers answer; raise if one exits or the time runs out."""
        deadline = time.monotonic() + timeout
        checks = {
            "actions": f"http://127.0.0.1:{self.action_port}/health",
            "rasa": f"http://127.0.0.1:{self.rasa_port}/",
        }
        pending = {k: v for k, v in checks.items() if k in self.procs}
        while pending:
            for name in list(pending):
                code = self.procs[name].poll()
                if code is not None:
                    raise RuntimeError(f"{name} server exited with code {code} during start-up")
                if _get(pending[name]) is not None:
                    del pending[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"servers not ready after {timeout:.0f} s: {sorted(pending)}")
            time.sleep(0.25)

    def warm_up(self, timeout: float = START_TIMEOUT) -> None:
        """Ask one question through the whole bot until it is answered (model loaded).

        While the action server is still loading, the Rasa server gives up after the action
        timeout and the reply is the "can't answer right now" message; so ask again.
        """
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            attempt += 1
            reply = post_json(
                self.rest_url,
                {"sender": f"__warmup-{attempt}__", "message": "what are exosomes"},
                token=self.env.get("FAQBOT_REST_TOKEN") or None,
            )
            messages = reply if isinstance(reply, list) else []
            kinds = [kind_of(m) for m in messages if isinstance(m, dict)]
            if "unavailable" not in kinds or time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def start(self) -> "Stack":
        """Start both servers, wait until they answer, and warm the action server up."""
        self.start_actions()
        self.start_rasa()
        try:
            self.wait_ready()
            self.warm_up()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, name: Optional[str] = None, timeout: float = 15.0) -> None:
        """Stop one server (or both): SIGINT, then SIGKILL after ``timeout``.

        A server is forgotten only once it has exited, so a stop that was interrupted (e.g. by
        a KeyboardInterrupt) can simply be called again.
        """
        names = [name] if name else list(self.procs)
        for key in names:
            proc = self.procs.get(key)
            if proc is not None and proc.poll() is None:
                _signal_group(proc, signal.SIGINT)
        for key in names:
            proc = self.procs.get(key)
            if proc is None:
                continue
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            self.procs.pop(key, None)
            log = self._logs.pop(key, None)
            if log is not None:
                log.close()

    def kill(self, name: str) -> None:
        """Kill one server at once (SIGKILL), as a crash or an out-of-memory kill would."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log = self._logs.pop(name, None)
        if log is not None:
            log.close()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


class StopSignals:
    """SIGTERM and SIGINT stop ``make run`` once.

    The first raises KeyboardInterrupt; later ones (``make`` passes a SIGTERM on, a second
    Ctrl-C) are absorbed, so they cannot cut the clean-up short and leave the servers running.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.stopping = False
        self.received = 0

    def install(self) -> "StopSignals":
        """Handle the signals in this (the main) thread."""
        for signum in self.SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def absorb(self) -> None:
        """From now on the signals do nothing: the clean-up has started."""
        self.stopping = True

    def _handle(self, signum: int, _frame: object) -> None:
        self.received += 1
        if self.stopping:
            return
        self.stopping = True
        raise KeyboardInterrupt


def _stop_all(stack: Stack) -> None:
    """Stop both servers, even if the first stop signal arrives while this runs.

    StopSignals raises KeyboardInterrupt at most once, so this retries at most once.
    """
    while True:
        try:
            stack.stop()
            return
        except KeyboardInterrupt:
            continue


def main(argv: Optional[List[str]] = None) -> int:
    """``make run``: start both servers in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description="Run the clinic FAQ bot.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", 5055)))
    parser.add_argument("--host", default=os.environ.get("RASA_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    stack = Stack(args.port, args.action_port, host=args.host)
    signals = StopSignals().install()  # stop the children on `kill` and Ctrl-C alike
    try:
        print("run: starting the action server and the Rasa server (about 30 s)...", flush=True)
        stack.start()
        print(f"run: action server  http://127.0.0.1:{args.action_port}/webhook", flush=True)
        print(f"run: Rasa server    http://{args.host}:{args.port}", flush=True)
        print(
            f"run: REST channel   POST http://{args.host}:{args.port}/webhooks/rest/webhook",
            flush=True,
        )
        print(f"run: chat widget    http://{args.host}:{args.port}/webhooks/widget/", flush=True)
        print("run: ready. Press Ctrl-C to stop.", flush=True)
        while all(p.poll() is None for p in stack.procs.values()):
            time.sleep(0.5)
        signals.absorb()
        print("run: a server stopped unexpectedly; stopping the other", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        signals.absorb()
        print("\nrun: stopping...", flush=True)
        return 0
    finally:
        signals.absorb()
        _stop_all(stack)
        print("run: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
