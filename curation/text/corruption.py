"""Labelled corruptions of real text: each damages a known fraction of a document.

Used to build corpora whose per-document noise is known exactly (rater sanity checks, validation tests):
- ``characters``: that fraction of characters replaced by random printable ASCII;
- ``shuffle_words``: that fraction of word positions permuted among themselves;
- ``boilerplate``: lines of navigation/cookie boilerplate inserted until they are that fraction of the lines;
- ``mojibake``: that fraction of words re-decoded as UTF-8 read as Latin-1 (``cafÃ©``-style garbage).
Every function is deterministic given its ``random.Random``.
"""

from __future__ import annotations

import random

BOILERPLATE_LINES = (
    "Home | About us | Contact | Privacy policy",
    "We use cookies to improve your experience. Accept all cookies",
    "Copyright © All rights reserved.",
    "Share on Facebook Share on Twitter Share by email",
    "Subscribe to our newsletter for the latest updates",
    "Skip to main content",
    "Log in | Register | Forgot password?",
    "Click here to read more",
)


def characters(text: str, fraction: float, rng: random.Random) -> str:
    chars = list(text)
    for index in rng.sample(range(len(chars)), int(fraction * len(chars))):
        chars[index] = chr(rng.randrange(33, 127))
    return "".join(chars)


def shuffle_words(text: str, fraction: float, rng: random.Random) -> str:
    words = text.split(" ")
    positions = rng.sample(range(len(words)), int(fraction * len(words)))
    moved = [words[i] for i in positions]
    rng.shuffle(moved)
    for index, word in zip(positions, moved, strict=True):
        words[index] = word
    return " ".join(words)


def boilerplate(text: str, fraction: float, rng: random.Random) -> str:
    lines = text.split("\n")
    if fraction >= 1:
        return "\n".join(rng.choice(BOILERPLATE_LINES) for _ in lines)
    extra = int(round(fraction * len(lines) / (1 - fraction)))
    for _ in range(extra):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(BOILERPLATE_LINES))
    return "\n".join(lines)


def mojibake(text: str, fraction: float, rng: random.Random) -> str:
    words = text.split(" ")
    for index in rng.sample(range(len(words)), int(fraction * len(words))):
        words[index] = words[index].encode("utf-8").decode("latin-1") + "\u00c3\u00a9"
    return " ".join(words)


CORRUPTIONS = {
    "characters": characters,
    "shuffle_words": shuffle_words,
    "boilerplate": boilerplate,
    "mojibake": mojibake,
}
