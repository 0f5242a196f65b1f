"""What the channels log about a failure: its type and place, never its message or payload."""

from __future__ import annotations

import traceback
from pathlib import Path


def where(exc: BaseException) -> str:
    """The exception's type and where it was raised, not its message (it may quote the patient)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{place}"
