"""Cost and behaviour of the spelling corrector (``python -m bench.spelling``).

Messages: the patient-language and doc2query training questions of ``knowledge/sources`` (never
the evaluation sets), each also with synthetic typos (one edit in some words of five letters or
more, seeded). Prints the load time and the memory it adds, the per-message cost (mean, p95)
with a cold and a warm word cache, what it changed in the questions as written, and how many
synthetic typos came back as the word that was typed wrong.
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import resource
import statistics
import time
from typing import List, Tuple

from knowledge import spelling
from knowledge.config import Settings
from knowledge.sources import load_knowledge_base

_WORD = re.compile(r"[A-Za-z]+")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _typo(word: str, rng: random.Random) -> str:
    """One random edit inside the word (the first letter kept, as patients mostly do)."""
    i = rng.randrange(1, len(word))
    kind = rng.choice(("delete", "transpose", "substitute", "insert"))
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "transpose" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "insert":
        return word[:i] + letter + word[i:]
    return word[:i] + letter + word[i + 1 :]


def _with_typos(text: str, rng: random.Random, rate: float) -> Tuple[str, List[Tuple[str, str]]]:
    pairs: List[Tuple[str, str]] = []

    def swap(m: re.Match[str]) -> str:
        word = m.group()
        if len(word) < 5 or not word.islower() or rng.random() >= rate:
            return word
        wrong = _typo(word, rng)
        pairs.append((word, wrong))
        return wrong

    return _WORD.sub(swap, text), pairs


def _timed(corrector: spelling.SpellingCorrector, messages: List[str]) -> List[float]:
    costs = []
    for message in messages:
        start = time.perf_counter()
        corrector.correct(message)
        costs.append((time.perf_counter() - start) * 1000)
    return costs


def _summary(costs: List[float]) -> str:
    ordered = sorted(costs)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"mean {statistics.mean(costs):.3f} ms, p95 {p95:.3f} ms, max {ordered[-1]:.2f} ms"


def main() -> None:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.3, help="share of words given a typo")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=80, help="changes to list (0: none)")
    args = parser.parse_args()

    kb = load_knowledge_base(Settings.from_env().sources_dir)
    written = sorted({q for texts in kb.questions.values() for q in texts} | set(kb.unanswerable))
    rng = random.Random(args.seed)  # noqa: S311 - reproducible typos, not secrets
    typed = [_with_typos(q, rng, args.rate) for q in written]
    messages = written + [t for t, _ in typed]

    gc.collect()
    before = _rss_mb()
    start = time.perf_counter()
    corrector = spelling.build()
    load_s = time.perf_counter() - start
    corrector.correct("warm up the language lexicon")
    gc.collect()
    print(
        f"load: {load_s:.2f} s, +{_rss_mb() - before:.0f} MB resident, {corrector.word_count} words"
    )

    cold = _timed(corrector, messages)
    warm = _timed(corrector, messages)
    print(f"{len(messages)} messages, cold word cache: {_summary(cold)}")
    print(f"{len(messages)} messages, warm word cache: {_summary(warm)}")
    long_text = " ".join(messages)[:10_000]
    print(f"one 10,000-character message: {_timed(corrector, [long_text])[0]:.1f} ms")

    changed = 0
    changes: List[str] = []
    for question in written:
        fixed = corrector.correct(question)
        before_words, after_words = question.split(), fixed.split()
        if fixed != question:
            changed += 1
            diff = [f"{a}->{b}" for a, b in zip(before_words, after_words) if a != b] or [
                f"{question!r}->{fixed!r}"
            ]
            changes.extend(diff)
    print(f"\nquestions as written: {changed} of {len(written)} changed")
    for change in sorted(set(changes))[: args.show]:
        print("  ", change)

    right = wrong = kept = 0
    misses: List[str] = []
    for text, pairs in typed:
        fixed_text = corrector.correct(text)
        fixed_words = set(_WORD.findall(fixed_text))
        got = dict(zip(_WORD.findall(text), _WORD.findall(fixed_text)))
        for word, typo in pairs:
            if corrector.known(typo):
                continue  # the typo is itself a word: never changed, by design
            if word in fixed_words:
                right += 1
            elif typo in fixed_words:
                kept += 1
            else:
                wrong += 1
                misses.append(f"{word}: {typo} -> {got.get(typo, '?')}")
    total = max(right + wrong + kept, 1)
    print(
        f"\nsynthetic typos that are not words: {total}; corrected {right / total:.1%}, "
        f"left {kept / total:.1%}, changed to another word {wrong / total:.1%}"
    )
    for miss in sorted(set(misses))[: args.show]:
        print("  ", miss)


if __name__ == "__main__":
    main()
