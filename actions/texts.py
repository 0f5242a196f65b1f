"""The actions' fixed texts in Hindi and Hinglish, read once from ``bot/replies.yml``."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, Optional

import yaml

REPLIES = Path(__file__).resolve().parent.parent / "bot" / "replies.yml"
LANGUAGE_SLOT = "language"


@functools.lru_cache(maxsize=1)
def _texts(path: Path = REPLIES) -> Dict[str, Dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(lang): {str(k): str(v) for k, v in texts.items()} for lang, texts in data.items()}


def translated(key: str, language: Optional[str], **values: str) -> Optional[str]:
    """The text ``key`` in ``language`` with ``values`` filled in; ``None`` for English."""
    text = _texts().get(language or "", {}).get(key)
    return text.format(**values) if text is not None else None
