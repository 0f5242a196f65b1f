"""A Hindi or Hinglish question as English words, to search the English articles with.

Not a translation: the patient's question words and topic words, looked up in a lexicon kept as
data (``knowledge/lexicon/hindi_terms.yml``), plus the English words Hinglish keeps. Enough to
find the passage that answers "exosome therapy mein kitne session lagte hain?"; the answer bar
still decides whether that passage answers it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

from knowledge.language import ENGLISH, detect, hinglish_markers

LEXICON = Path(__file__).resolve().parent / "lexicon" / "hindi_terms.yml"
_TOKEN = re.compile(r"[\w\u0900-\u097f]+", re.UNICODE)
_LATIN = re.compile(r"^[a-z0-9]+$")


@functools.lru_cache(maxsize=1)
def _lexicon(path: Path = LEXICON) -> Tuple[Dict[str, str], Dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    phrases = {_nfc(k): str(v or "") for k, v in (data.get("phrases") or {}).items()}
    words = {_nfc(k): str(v or "") for k, v in (data.get("words") or {}).items()}
    return phrases, words


def english_query(text: str) -> str:
    """``text`` unchanged when English; else its words mapped to English (see module doc)."""
    if detect(text) == ENGLISH:
        return text
    phrases, words = _lexicon()
    tokens = _TOKEN.findall(_nfc(text))
    out: List[str] = []
    i = 0
    while i < len(tokens):
        size = next(
            (n for n in (3, 2) if i + n <= len(tokens) and " ".join(tokens[i : i + n]) in phrases),
            0,
        )
        if size:
            out.append(phrases[" ".join(tokens[i : i + size])])
            i += size
            continue
        token = tokens[i]
        if token in words:
            out.append(words[token])
        elif _LATIN.match(token) and token not in _hinglish_only():
            out.append(token)
        i += 1
    return " ".join(w for w in out if w)


def _nfc(text: object) -> str:
    """Lower case, Unicode NFC: "ज़" typed as one character or as ज + nukta reads the same."""
    return unicodedata.normalize("NFC", str(text)).lower()


@functools.lru_cache(maxsize=1)
def _hinglish_only() -> frozenset:
    """Hinglish marker words (dropped from the English query), and "me" (Hinglish "mein")."""
    return hinglish_markers() - {"the"} | {"me", "mai", "main", "h"}
