"""Resident memory of the servers, read from ``/proc`` (Linux; psutil is not a dependency).

``rasa run`` and ``rasa run actions`` serve from one process each with one Sanic worker, but a
library may still start helper processes, so a server's memory is the sum over its process tree.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

PROC = Path("/proc")


def status_kib(pid: int, key: str) -> Optional[int]:
    """A ``kB`` field (``VmRSS``, ``VmHWM``) of ``/proc/<pid>/status``; ``None`` if gone."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def _parent_of(pid: int) -> Optional[int]:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; it is closed by the last ')'.
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _all_pids() -> Iterator[int]:
    for entry in os.listdir(PROC):
        if entry.isdigit():
            yield int(entry)


def process_tree(root: int) -> List[int]:
    """``root`` and all its descendants that are alive now."""
    children: Dict[int, List[int]] = {}
    for pid in _all_pids():
        parent = _parent_of(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_kib(root: int, key: str = "VmRSS") -> int:
    """Sum of a ``/proc/<pid>/status`` field over the process tree of ``root``, in KiB."""
    return sum(status_kib(pid, key) or 0 for pid in process_tree(root))


@dataclass
class MemorySampler:
    """Samples the tree RSS of named processes in a background thread.

    Attributes:
        pids: Root process id of each server, by name.
        interval: Seconds between samples.
        samples: ``(seconds since start, {name: RSS in MiB})`` in time order.
    """

    pids: Dict[str, int]
    interval: float = 1.0
    samples: List[Tuple[float, Dict[str, float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._t0 = time.monotonic()
        self._peak: Dict[str, float] = {}

    def sample(self) -> Dict[str, float]:
        """Take one sample now and return it (MiB per process tree)."""
        now = {name: tree_kib(pid) / 1024.0 for name, pid in self.pids.items()}
        self.samples.append((time.monotonic() - self._t0, now))
        for name, value in now.items():
            self._peak[name] = max(self._peak.get(name, 0.0), value)
        return now

    def elapsed(self, when: float) -> float:
        """Seconds from the sampler's start to ``when`` (a ``time.monotonic()`` value)."""
        return when - self._t0

    def start(self) -> "MemorySampler":
        """Start sampling every ``interval`` seconds."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (takes one last sample)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def peaks(self) -> Dict[str, Dict[str, float]]:
        """Per process: highest sampled tree RSS and the kernel's high-water mark (``VmHWM``).

        ``VmHWM`` is exact for the root process; the sampled value also counts children.
        """
        out = {}
        for name, pid in self.pids.items():
            hwm = sum(status_kib(p, "VmHWM") or 0 for p in process_tree(pid)) / 1024.0
            out[name] = {
                "peak_rss_mib": round(max(self._peak.get(name, 0.0), hwm), 1),
                "sampled_peak_mib": round(self._peak.get(name, 0.0), 1),
                "vmhwm_mib": round(hwm, 1),
                "processes": len(process_tree(pid)),
            }
        return out
