"""Spelling correction of English patient messages, so retrieval sees the words the articles use.

Older patients type "exosme", "diabetis", "nueropathy", "kidny", "ulsar". The corrector is
symspellpy (symmetric-delete lookup, Damerau edit distance) over its bundled English frequency
dictionary (82,765 words), to which every word of the articles (``knowledge/sources/*.txt``) and
the domain words of ``knowledge/lexicon/chat_english.yml`` are added. "Topic words" are the domain
words and the article words outside the 1,000 most frequent English ones ("ulcer", "wound", not
"would"): they are preferred as corrections. A word is only changed when it is unknown, 4 to 30
letters, all ASCII letters, and a correction is near enough:

* edit distance 1 for words of up to 4 letters and capitalised words, 2 for longer ones, a changed
  first letter costing one edit more; a correction that costs 2 must be a topic word for a word
  of 5-6 letters ("ulsar": ulcer, not pulsar);
* among the nearest, a topic word wins, then two swapped letters ("mnay": many), then frequency,
  a letter left out weighing ten times ("totaly": totally); English words rarer than
  ``INDEX_MIN_COUNT`` are known but never offered;
* a capitalised word (a name, most often, at the start of a sentence too: "Shetty here"), a word
  where a name stands ("my name is ...", "Dr ...", "... ji") and any word of a Hinglish or Hindi
  message (or of one with a single Hinglish marker that is no English word, "mujhe") are only
  corrected to a topic word; rude words (the lexicon's ``never`` list) are never offered;
* words of the lexicons (chat words, Indian names and places, the Hinglish and Hindi-term word
  lists of ``knowledge/lexicon``) are never changed; neither are all-capitals words (acronyms,
  unless the whole message is in capitals), mixed-case words ("HbA1c"), words with digits, URLs,
  e-mail addresses, numbers, Devanagari and punctuation;
* cheap splits and joins: an unknown word that is two known words ("exosometherapy") is split
  when no distance-1 correction exists, and two words that together make an article or domain
  word one of them is not a word of ("kid ney") are joined.

``correct`` never raises: on any error it returns the message unchanged. The dictionary is built
once, lazily and thread-safely, on first use or by ``load()`` at start-up. Its load time, memory
and cost per message are measured by ``python -m bench.spelling`` (figures: bench/README.md).
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

import yaml

if TYPE_CHECKING:  # pragma: no cover - symspellpy is imported when the dictionary is built
    from symspellpy import SymSpell

log = logging.getLogger(__name__)

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"
CHAT_LEXICON = LEXICON_DIR / "chat_english.yml"
HINGLISH_LEXICON = LEXICON_DIR / "hinglish.yml"
HINDI_TERMS = LEXICON_DIR / "hindi_terms.yml"
# A Hindi-terms key this close to its English value is a misspelling of it, not a Hindi word.
SPELLING_RATIO = 0.75
DICTIONARY = "frequency_dictionary_en_82_765.txt"

MIN_LENGTH = 4
"""Shorter words are never corrected (too many real words are one edit apart)."""
MAX_LENGTH = 30
"""Longer letter runs are not words a patient meant: left alone."""
MAX_DISTANCE = 2
SHORT_WORD = 4
"""Words of up to this many letters get edit distance 1 at most."""
DOMAIN_ONLY_BELOW = 7
"""A distance-2 correction of a word shorter than this must be an article or domain word."""
PREFIX_LENGTH = 6
"""symspellpy's prefix length: a longer prefix looks up faster but takes more memory.

The trade-off measured for 7: bench/README.md, "Spelling correction".
"""
INDEX_MIN_COUNT = 300_000
"""English words rarer than this are known (left alone) but never offered as corrections."""
COMMON_WORDS = 1000
"""Article words among this many most frequent English words are not preferred as corrections."""
OMISSION_WEIGHT = 10
"""Patients leave letters out more than they add them: a longer candidate's count weighs this much
more."""
DOMAIN_COUNT = 1_000_000
"""Count given to article and domain words the English dictionary lacks."""
SPLIT_MIN_LENGTH = 6
"""Shorter unknown words are not split; each half of a split must be an article or domain word."""
_SHORT_PARTS = frozenset(("a", "i", "an", "as", "at", "by", "do", "if", "in", "is", "it", "my"))
_SHORT_PARTS |= {"no", "of", "on", "or", "so", "to", "up", "we"}
_CACHE_SIZE = 50_000
_MISSING = "\0missing"

# A whitespace-separated chunk that is a URL, an e-mail address, a domain name, a handle or a
# hashtag, or has characters of code or paths: left whole.
_VERBATIM = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)|@|#|_|\\|"
    r"[a-z0-9-]\.(?:com|in|org|net|co|io|gov|edu|info|me|ai|app|health)\b",
    re.IGNORECASE,
)
_CHUNK = re.compile(r"\S+")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_ASCII_LETTERS = re.compile(r"[A-Za-z]+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_NAME_AFTER = frozenset(
    ("myself", "i'm", "im", "dr", "mr", "mrs", "ms", "smt", "shri", "sri", "prof", "naam", "called")
)
_NAME_AFTER_TWO = frozenset((("name", "is"), ("this", "is"), ("i", "am"), ("names", "is")))
_NAME_BEFORE = frozenset(("ji", "sahab", "sahib", "sir", "madam", "garu", "bhai", "didi"))


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str


class SpellingCorrector:
    """A built dictionary and the rules that use it; ``correct`` is safe from many threads.

    Args:
        symspell: The symspellpy index of the words a correction can be.
        words: Every known word with its count (the English dictionary, articles, domain words).
        vocabulary: Every article and domain word: what splits and joins may make.
        topic: Domain words and the article words that are not among the most frequent English
            words: preferred as corrections, and the only ones allowed in strict cases.
        keep: Words never changed nor offered (chat words, names, Hinglish and Hindi terms).
        hinglish: Hinglish marker words that are not English: one in a message makes it strict.
    """

    def __init__(
        self,
        symspell: SymSpell,
        words: Dict[str, int],
        vocabulary: FrozenSet[str],
        topic: FrozenSet[str],
        keep: FrozenSet[str],
        hinglish: FrozenSet[str] = frozenset(),
    ):
        from symspellpy import Verbosity

        self._symspell = symspell
        self._words = words
        self._vocabulary = vocabulary
        self._topic = topic
        self._keep = keep
        self._hinglish = hinglish
        self._all = Verbosity.ALL
        self._cache: Dict[Tuple[str, bool, bool], Optional[str]] = {}

    @property
    def word_count(self) -> int:
        """How many words the dictionary knows (the lexicon's keep words not counted)."""
        return len(self._words)

    def known(self, word: str) -> bool:
        """Whether a lower-case word is left as it is because it is a word.

        Plurals of known words count ("tumors", "parkinsons"), and so do singulars of article
        words ("nanometer").
        """
        if word in self._words or word in self._keep:
            return True
        if word.endswith("s") and len(word) > 3:
            stem = word[:-1]
            if stem in self._words or stem in self._keep:
                return True
        return not word.endswith("s") and word + "s" in self._vocabulary

    def correct(self, text: str) -> str:
        """The message with misspelled words corrected; the message itself on any error."""
        try:
            return self._correct(text)
        except Exception:  # never let spelling break a reply
            log.exception("spelling: correction failed; message left as it is")
            return text

    def _correct(self, text: str) -> str:
        if not text or not _ASCII_LETTERS.search(text):
            return text
        from knowledge import language

        tokens = _tokens(text)
        strict = language.detect(text) != language.ENGLISH or any(
            t.text.lower() in self._hinglish for t in tokens
        )
        shouting = _shouting(text)
        out: List[str] = []
        pos = 0
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and text[tok.end : nxt.start] == " ":
                joined = self._join(tok.text, nxt.text, shouting)
                if joined is not None:
                    out.append(text[pos : tok.start])
                    out.append(joined)
                    pos = nxt.end
                    i += 2
                    continue
            fixed = self._token(text, tok, strict or _names_one(tokens, i), shouting)
            if fixed is not None:
                out.append(text[pos : tok.start])
                out.append(fixed)
                pos = tok.end
            i += 1
        out.append(text[pos:])
        return "".join(out)

    def _token(self, text: str, tok: _Token, strict: bool, shouting: bool) -> Optional[str]:
        """The corrected token, or ``None`` to keep it."""
        word = tok.text
        head, sep, tail = word, "", ""
        for quote in "'’":
            if quote in word:
                head, sep, tail = word.partition(quote)
                if tail.lower() != "s" or quote in tail:  # only a possessive 's is looked past
                    return None
                break
        casing = _casing(head, shouting)
        if casing is None or not head.isascii() or not head.isalpha():
            return None
        lower = head.lower()
        if not MIN_LENGTH <= len(lower) <= MAX_LENGTH or self.known(lower):
            return None
        # a capitalised word is most often a name, at the start of a sentence too ("Shetty here")
        capitalised = casing == "title"
        fixed = self._word(lower, strict or capitalised, capitalised)
        if fixed is None:
            return None
        return _recase(fixed, casing) + sep + tail

    def _word(self, word: str, strict: bool, capitalised: bool) -> Optional[str]:
        key = (word, strict, capitalised)
        cached = self._cache.get(key, _MISSING)  # one read: another thread may clear the cache
        if cached is not _MISSING:
            return cached
        fixed = self._lookup(word, strict, capitalised)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = fixed
        return fixed

    def _lookup(self, word: str, strict: bool, capitalised: bool) -> Optional[str]:
        """The correction of an unknown lower-case word, or ``None`` when unsure."""
        if _ELONGATED.search(word):  # "pleeease", "sooo"
            for repeat in (r"\1\1", r"\1"):
                squeezed = _ELONGATED.sub(repeat, word)
                if self.known(squeezed):
                    return squeezed
            word = _ELONGATED.sub(r"\1\1", word)
        max_distance = 1 if len(word) <= SHORT_WORD else MAX_DISTANCE
        suggestions = self._symspell.lookup(word, self._all, max_edit_distance=max_distance)
        best: Optional[Tuple[Tuple[int, int, int, int], str]] = None
        for item in suggestions:
            term, distance = item.term, item.distance
            if distance == 0:
                continue
            topic = term in self._topic
            # a typo seldom changes the first letter: that costs one more edit
            cost = distance + (term[0] != word[0])
            if cost > (1 if capitalised else MAX_DISTANCE) or (not topic and strict):
                continue
            if cost == MAX_DISTANCE and not topic and len(word) < DOMAIN_ONLY_BELOW:
                continue
            # then topic words, then two letters swapped ("mnay": many, not may), then frequency,
            # a letter left out counting ten times ("totaly": totally, not total; "diabetis" is
            # still diabetes, 25 times as frequent as diabetics)
            swapped = len(term) == len(word) and sorted(term) == sorted(word)
            weight = item.count * (OMISSION_WEIGHT if len(term) > len(word) else 1)
            rank = (cost, 0 if topic else 1, 0 if swapped else 1, -weight)
            if best is None or rank < best[0]:
                best = (rank, term)
        if best is not None and best[0][0] == 1:
            return best[1]
        if not strict:
            split = self._split(word)
            if split is not None:
                return split
        return best[1] if best is not None else None

    def _split(self, word: str) -> Optional[str]:
        """Two known words that make up an unknown one ("exosometherapy"), or ``None``."""
        if len(word) < SPLIT_MIN_LENGTH:
            return None
        best: Optional[Tuple[int, str]] = None
        for cut in range(1, len(word)):
            left, right = word[:cut], word[cut:]
            score = min(self._part(left), self._part(right))
            if score and (best is None or score > best[0]):
                best = (score, f"{left} {right}")
        return best[1] if best is not None else None

    def _part(self, part: str) -> int:
        """How good a half of a split word is: 0 when it cannot be one (not an article word)."""
        if (len(part) < 3 and part not in _SHORT_PARTS) or part not in self._vocabulary:
            return 0
        return max(self._words.get(part, 0), DOMAIN_COUNT)

    def _join(self, left: str, right: str, shouting: bool) -> Optional[str]:
        """One article or domain word typed as two ("kid ney"), or ``None``."""
        if not (left.isascii() and right.isascii() and left.isalpha() and right.isalpha()):
            return None
        casing = _casing(left, shouting)
        if casing is None or _casing(right, shouting) not in ("lower", "upper"):
            return None
        a, b = left.lower(), right.lower()
        joined = a + b
        if len(joined) < 5 or joined not in self._vocabulary:
            return None
        if self.known(a) and self.known(b):
            return None
        return _recase(joined, casing)


def _tokens(text: str) -> List[_Token]:
    """The word tokens of a text, URLs, e-mail addresses and the like left out."""
    tokens: List[_Token] = []
    for chunk in _CHUNK.finditer(text):
        if _VERBATIM.search(chunk.group()):
            continue
        base = chunk.start()
        for m in _TOKEN.finditer(chunk.group()):
            tokens.append(_Token(base + m.start(), base + m.end(), m.group()))
    return tokens


def _names_one(tokens: List[_Token], i: int) -> bool:
    """Whether the words around token ``i`` say it is a name ("my name is ...", "... here")."""
    before = [t.text.lower() for t in tokens[max(0, i - 2) : i]]
    if before and before[-1] in _NAME_AFTER:
        return True
    if len(before) == 2 and tuple(before) in _NAME_AFTER_TWO:
        return True
    after = tokens[i + 1].text.lower() if i + 1 < len(tokens) else ""
    return after in _NAME_BEFORE or (i == 0 and after == "here")


def _shouting(text: str) -> bool:
    """Whether the message is typed in capitals (its capitals words are then words)."""
    letters = [c for c in text if c.isascii() and c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    return len(letters) >= 8 and upper >= 0.8 * len(letters)


def _casing(word: str, shouting: bool) -> Optional[str]:
    """``lower``, ``title`` or ``upper``; ``None`` for a word whose case says to leave it."""
    if word.islower():
        return "lower"
    if word[:1].isupper() and (len(word) == 1 or word[1:].islower()):
        return "title"
    if word.isupper():
        return "upper" if shouting else None  # an acronym, unless the whole message is capitals
    return None  # mixed case: "HbA1c", "iPhone"


def _recase(word: str, casing: str) -> str:
    if casing == "upper":
        return word.upper()
    if casing == "title":
        return word[:1].upper() + word[1:]
    return word


# -- building the dictionary ----------------------------------------------------------------------


def _yaml(path: Path) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def _latin_words(items: Iterable[Any]) -> Set[str]:
    """The lower-case ASCII words of lexicon entries (phrases give each of their words)."""
    words: Set[str] = set()
    for item in items:
        words.update(w.lower() for w in _TOKEN.findall(str(item)) if w.isascii())
    return words


def _spelling_of(key: str, english: str) -> bool:
    """Whether a Hindi-terms key is a misspelling of its English value ("diabeties": diabetes).

    Such keys are no Hindi words to protect: the corrector should still fix them in English.
    """
    return difflib.SequenceMatcher(None, key.lower(), english.lower()).ratio() >= SPELLING_RATIO


@dataclass(frozen=True)
class Lexicon:
    """The corrector's word lists from ``knowledge/lexicon``.

    Attributes:
        domain: Medical and clinic words: known, and preferred as corrections.
        keep: Words never changed: the chat lexicon's ``keep`` list plus every Latin-script word
            of the Hinglish lexicon (markers, chitchat) and of the Hindi terms (their Hinglish
            keys, not the English values).
        never: English words never offered as a correction (rude words).
    """

    domain: FrozenSet[str]
    keep: FrozenSet[str]
    never: FrozenSet[str]


def lexicon_words(
    chat: Path = CHAT_LEXICON, hinglish: Path = HINGLISH_LEXICON, hindi_terms: Path = HINDI_TERMS
) -> Lexicon:
    """Read the lexicon files."""
    data = _yaml(chat)
    domain = _latin_words(data.get("domain") or ())
    keep = _latin_words(data.get("keep") or ())
    hing = _yaml(hinglish)
    keep |= _latin_words(hing.get("markers") or ())
    for words in (hing.get("chitchat") or {}).values():
        keep |= _latin_words(words or ())
    terms = _yaml(hindi_terms)
    for section in ("phrases", "words"):
        keep |= _latin_words(
            key
            for key, value in (terms.get(section) or {}).items()
            if not _spelling_of(str(key), str(value or ""))
        )
    never = _latin_words(data.get("never") or ())
    return Lexicon(frozenset(domain), frozenset(keep - domain), frozenset(never - domain))


def article_words(sources_dir: Optional[Path] = None) -> FrozenSet[str]:
    """Every word of the articles, their titles and aliases, lower case."""
    from knowledge.config import Settings
    from knowledge.sources import load_knowledge_base

    folder = sources_dir if sources_dir is not None else Settings.from_env().sources_dir
    kb = load_knowledge_base(folder)
    words: Set[str] = set()
    for article in kb.articles:
        for text in (article.text, article.title, *article.aliases):
            words.update(
                w.lower()
                for w in _TOKEN.findall(text)
                if w.isascii() and w.isalpha() and len(w) > 1
            )
    return frozenset(words)


def build(sources_dir: Optional[Path] = None) -> SpellingCorrector:
    """Build the corrector: English dictionary, article words and the lexicons."""
    from symspellpy import SymSpell
    from symspellpy.editdistance import DistanceAlgorithm, EditDistance

    symspell = SymSpell(
        max_dictionary_edit_distance=MAX_DISTANCE,
        prefix_length=PREFIX_LENGTH,
        distance_comparer=EditDistance(DistanceAlgorithm.DAMERAU_OSA_FAST),
    )
    words = english_words()
    lexicon = lexicon_words()
    domain, keep = lexicon.domain, lexicon.keep
    articles = article_words(sources_dir)
    vocabulary = frozenset(domain | articles)
    common = sorted(words.values(), reverse=True)[COMMON_WORDS - 1]
    topic = frozenset(domain | {w for w in articles if words.get(w, 0) < common})
    for word in vocabulary:
        words.setdefault(word, DOMAIN_COUNT)
    for word, count in words.items():
        if (count >= INDEX_MIN_COUNT or word in vocabulary) and word not in lexicon.never:
            symspell.create_dictionary_entry(word, count)
    hing = _yaml(HINGLISH_LEXICON)
    hinglish = _latin_words(hing.get("markers") or ()) - _latin_words(hing.get("ambiguous") or ())
    return SpellingCorrector(
        symspell, words, vocabulary, topic, frozenset(keep - words.keys()), frozenset(hinglish)
    )


def english_words() -> Dict[str, int]:
    """The English frequency dictionary shipped in symspellpy: word -> count."""
    from importlib.resources import files

    words: Dict[str, int] = {}
    text = files("symspellpy").joinpath(DICTIONARY).read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            words[parts[0]] = int(parts[1])
    if not words:
        raise RuntimeError(f"spelling: symspellpy's {DICTIONARY} is empty")
    return words


_lock = threading.Lock()
_default: Optional[SpellingCorrector] = None
_failed = False


def load(sources_dir: Optional[Path] = None) -> Optional[SpellingCorrector]:
    """Build the shared corrector once (warm-up at start); later calls return it.

    Returns ``None`` (and logs why) when it cannot be built; ``correct`` then leaves messages
    as they are.
    """
    global _default, _failed
    if _default is not None or _failed:
        return _default
    with _lock:
        if _default is None and not _failed:
            try:
                _default = build(sources_dir)
            except Exception:
                _failed = True
                log.exception("spelling: the dictionary could not be built; no correction")
    return _default


def correct(text: str) -> str:
    """Return the message with misspelled words corrected, everything else as it was.

    Builds the dictionary on first use (see ``load``). Never raises: on any error, or when the
    dictionary cannot be built, the message comes back unchanged.
    """
    try:
        corrector = load()
    except Exception:  # pragma: no cover - load logs its own errors
        return text
    if corrector is None:
        return text
    return corrector.correct(text)
