"""``make run`` (``python -m scripts.stack``) leaves no server behind, however it is stopped.

Each test starts the real command in its own process group on free ports, waits for
"run: ready", finds the two servers (the command's children, each leader of its own session)
in ``/proc``, and then stops the command: one SIGTERM to its group; SIGTERMs in quick succession
(as ``make`` passes a SIGTERM on to its child); or SIGKILL to the command alone, which cannot
clean up, so the servers must go by themselves (``PR_SET_PDEATHSIG``). Within 20 s no process
of either server's session may be left and their ports must be closed; a command that could
clean up must have said "run: stopped".
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

from scripts.stack import base_env, free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
READY = "run: ready"
STOPPED = "run: stopped"
START_TIMEOUT = 180.0
GONE_WITHIN = 20.0


def processes() -> Dict[int, Tuple[str, int, int]]:
    """Every process in ``/proc``: pid -> (state, parent pid, session id)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (comm) state ppid pgrp session ...": comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry)] = (fields[0], int(fields[1]), int(fields[3]))
    return found


def alive_in_sessions(sessions: Set[int]) -> List[int]:
    """Pids of the processes (zombies aside) in any of ``sessions``."""
    return sorted(
        pid
        for pid, (state, _, session) in processes().items()
        if session in sessions and state != "Z"
    )


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Run:
    """``python -m scripts.stack`` in its own process group, its output collected."""

    def __init__(self, tmp_path: Path) -> None:
        self.rasa_port, self.action_port = free_port(), free_port()
        env = {
            **base_env(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'handoffs.db'}",
            "FAQBOT_TRACKER_URL": f"sqlite:///{tmp_path / 'conversations.db'}",
        }
        command = [sys.executable, "-m", "scripts.stack"]
        command += ["--port", str(self.rasa_port), "--action-port", str(self.action_port)]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.lines: List[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.servers: Set[int] = set()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:  # also the servers' output: they inherit the pipe
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(line.startswith(text) for line in self.lines)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.said(READY):
            code = self.proc.poll()
            assert code is None, f"exited with {code}: " + "\n".join(self.lines[-30:])
            assert time.monotonic() < deadline, "not ready: " + "\n".join(self.lines[-30:])
            time.sleep(0.2)
        children = [pid for pid, (_, ppid, _) in processes().items() if ppid == self.proc.pid]
        assert len(children) == 2, children
        for pid in children:
            assert processes()[pid][2] == pid, "each server leads its own session"
        self.servers = set(children)
        assert answers(self.rasa_port) and answers(self.action_port)

    def assert_servers_gone(self) -> None:
        deadline = time.monotonic() + GONE_WITHIN
        while alive_in_sessions(self.servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = alive_in_sessions(self.servers)
        assert not left, f"server processes still running: {left}"
        assert not answers(self.rasa_port) and not answers(self.action_port)

    def wait_exit(self) -> Optional[int]:
        try:
            return self.proc.wait(GONE_WITHIN)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self) -> None:
        """Whatever a failed test left: the command and the servers' sessions."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in alive_in_sessions(self.servers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reader.join(5)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path)
    try:
        started.wait_ready()
    except BaseException:
        started.cleanup()
        raise
    yield started
    started.cleanup()


def test_sigterm_to_the_group_stops_both_servers(run: Run) -> None:
    os.killpg(run.proc.pid, signal.SIGTERM)
    assert run.wait_exit() == 0, run.lines[-20:]
    run.assert_servers_gone()
    assert run.said(STOPPED), run.lines[-20:]


def test_repeated_sigterms_do_not_cut_the_clean_up_short(run: Run) -> None:
    os.killpg(run.proc.pid, signal.SIGTERM)
    time.sleep(0.02)
    os.killpg(run.proc.pid, signal.SIGTERM)  # as make passes it on
    time.sleep(0.5)
    os.killpg(run.proc.pid, signal.SIGTERM)  # and one more while the servers are stopping
    assert run.wait_exit() == 0, run.lines[-20:]
    run.assert_servers_gone()
    assert run.said(STOPPED), run.lines[-20:]
    assert sum(line == STOPPED for line in run.lines) == 1


def test_servers_die_with_a_killed_parent(run: Run) -> None:
    os.kill(run.proc.pid, signal.SIGKILL)  # the parent only: it cannot clean up
    assert run.wait_exit() == -signal.SIGKILL
    run.assert_servers_gone()
    assert not run.said(STOPPED)
