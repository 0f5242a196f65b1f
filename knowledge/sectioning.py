"""Split articles into passages: one per FAQ question, one or more per condition section.

The articles are plain text whose headings are short lines without end punctuation. A heading
directly followed by another heading is a parent section (e.g. "Frequently Asked Questions"); a
heading followed by text is a leaf section. Lines ending in a colon are lead-ins or labels and stay
with the text that follows them; list items stay with the paragraph they belong to.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from knowledge.sources import Article, KnowledgeBase

SECTIONING_VERSION = "1"
MAX_PASSAGE_WORDS = 170
MAX_HEADING_WORDS = 14
DEFAULT_SECTION = "Overview"
_LIST_MARK = re.compile(r"^(?:[•·\-–—*]|\d+[.)])\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(]?[A-Z0-9])")


@dataclass(frozen=True)
class Passage:
    """A retrievable, quotable piece of one article.

    Attributes:
        id: Stable id: the article slug plus a hash of the heading path and text.
        doc: Slug of the article.
        title: Title of the article.
        condition: Condition the article covers.
        heading_path: Headings from the outermost section to the passage's own.
        text: The passage, verbatim from the article (lines joined with newlines).
        kind: ``faq`` for a question with its answer, ``section`` otherwise.
    """

    id: str
    doc: str
    title: str
    condition: str
    heading_path: Tuple[str, ...]
    text: str
    kind: str

    @property
    def section(self) -> str:
        """The passage's own section heading."""
        return self.heading_path[-1] if self.heading_path else DEFAULT_SECTION

    @property
    def citation(self) -> str:
        """How the passage is cited to patients: ``<article title> › <section>``."""
        return f"{self.title} › {self.section}"

    def search_text(self) -> str:
        """Text used for embedding and lexical search: title, headings and passage."""
        return "\n".join([self.title, *self.heading_path, self.text])


def _is_list_item(line: str) -> bool:
    return bool(_LIST_MARK.match(line)) and not line[:1].isdigit() or line.startswith(("•", "·"))


def is_heading(line: str) -> bool:
    """Whether a stripped, non-empty line reads as a heading."""
    if _is_list_item(line) or line.endswith((".", ",", ";", ":", "!", "…")):
        return False
    words = line.split()
    return 0 < len(words) <= MAX_HEADING_WORDS and (line[0].isupper() or line[0].isdigit())


@dataclass
class _Block:
    path: Tuple[str, ...]
    lines: List[str]


def _editorial_heading(line: str, article: Article) -> Optional[str]:
    for start, heading in article.section_starts.items():
        if line.startswith(start):
            return heading
    return None


def _blocks(article: Article, boilerplate: Sequence[str]) -> List[_Block]:
    raw = [ln.strip() for ln in article.text.splitlines()]
    skip = {b.casefold() for b in boilerplate} | {article.title.casefold()}
    lines = [ln for ln in raw if ln and ln.casefold() not in skip]
    blocks: List[_Block] = [_Block(path=(), lines=[])]
    parent: Optional[str] = None
    for i, line in enumerate(lines):
        editorial = _editorial_heading(line, article)
        if editorial is not None:
            parent = None
            blocks.append(_Block(path=(editorial,), lines=[line]))
            continue
        if not is_heading(line):
            blocks[-1].lines.append(line)
            continue
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if next_line and is_heading(next_line) and _editorial_heading(next_line, article) is None:
            parent = line
            continue
        path = (parent, line) if parent else (line,)
        blocks.append(_Block(path=path, lines=[]))
    return [b for b in blocks if b.lines]


def _is_label(line: str) -> bool:
    """A lead-in ("... as follows:") or a short list label ("- Reduces Inflammation")."""
    if line.endswith(":"):
        return True
    return _is_list_item(line) and len(line.split()) <= 6 and not line.endswith((".", "!", "?"))


def _units(lines: Sequence[str]) -> List[List[str]]:
    """Group lines into units kept together: lead-ins and labels with what follows, lists whole.

    A unit longer than a passage is split at line boundaries (its lead-in stays with the first
    part).
    """
    units: List[List[str]] = []
    glue = False
    for line in lines:
        if units and (glue or _is_list_item(line)):
            units[-1].append(line)
        else:
            units.append([line])
        glue = _is_label(line)
    split: List[List[str]] = []
    for unit in units:
        if sum(len(ln.split()) for ln in unit) <= MAX_PASSAGE_WORDS:
            split.append(unit)
        else:
            split.extend(_glued_lines(unit))
    return split


def _glued_lines(unit: Sequence[str]) -> List[List[str]]:
    parts: List[List[str]] = []
    glue = False
    for line in unit:
        if parts and glue:
            parts[-1].append(line)
        else:
            parts.append([line])
        glue = _is_label(line)
    return parts


def _chunks(units: List[List[str]]) -> Iterable[List[str]]:
    chunk: List[str] = []
    words = 0
    for unit in units:
        n = sum(len(ln.split()) for ln in unit)
        if chunk and words + n > MAX_PASSAGE_WORDS:
            yield chunk
            chunk, words = [], 0
        chunk.extend(unit)
        words += n
    if chunk:
        yield chunk


def passage_id(slug: str, path: Sequence[str], text: str) -> str:
    """Stable passage id: the same article, headings and text always give the same id."""
    digest = hashlib.sha1(  # noqa: S324 - an identifier, not security
        "\x1f".join([slug, *path, text]).encode("utf-8")
    ).hexdigest()
    return f"{slug}#{digest[:10]}"


def section_article(article: Article, boilerplate: Sequence[str] = ()) -> List[Passage]:
    """Split one article into passages in reading order."""
    passages: List[Passage] = []
    for block in _blocks(article, boilerplate):
        kind = "faq" if block.path and block.path[-1].endswith("?") else "section"
        for chunk in _chunks(_units(block.lines)):
            text = "\n".join(chunk)
            passages.append(
                Passage(
                    id=passage_id(article.slug, block.path, text),
                    doc=article.slug,
                    title=article.title,
                    condition=article.condition,
                    heading_path=block.path,
                    text=text,
                    kind=kind,
                )
            )
    return passages


def section_knowledge_base(kb: KnowledgeBase) -> List[Passage]:
    """Passages of every article, in catalog order."""
    return [p for a in kb.articles for p in section_article(a, kb.boilerplate)]


def split_sentences(text: str) -> List[str]:
    """Split passage text into sentences; each line (list item, label) splits on its own."""
    sentences: List[str] = []
    for line in text.split("\n"):
        sentences.extend(s for s in _SENTENCE_END.split(line) if s.strip())
    return sentences
