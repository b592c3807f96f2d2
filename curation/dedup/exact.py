"""Exact-duplicate key: a hash of the text after a light normalisation that keeps every word.

Two documents are *exact* duplicates when their texts are equal after:

1. ``str.casefold()`` (case-insensitive, including ``ß`` → ``ss``), then the Turkish dotless ``ı`` → ``i``
   (casefold keeps ``ı``, but ``"ı".upper()`` is ``"I"``: without this an upper-cased copy of Turkish text
   would get another key),
2. Unicode NFKC (compatibility forms: full-width letters, ligatures, NBSP → their plain forms), and step 1
   again on what NFKC produced (``"ℌ"`` → ``"H"`` → ``"h"``),
3. every run of whitespace (spaces, tabs, newlines, any Unicode space) → one space; ends stripped.

Punctuation, digits and diacritics are kept on purpose: they can change what a text says, and any
change beyond case and layout is the near-duplicate detector's job (``curation.dedup.minhash``).
So a copy re-wrapped, re-indented or re-cased is an exact duplicate; a copy with one word edited is not.

The key is BLAKE2b-128 of the normalised text's UTF-8, as 32 lowercase hex characters: stable across
processes, machines and Python versions (no ``hash()`` seed), so a Spark stage can ``groupBy`` it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

EXACT_KEY_VERSION = "exact-v2"  # bump when the normalisation changes: keys of different versions never match


def normalize_for_exact(text: str) -> str:
    """The text that ``exact_key`` hashes: casefolded, NFKC, whitespace runs collapsed to one space."""
    text = text.casefold().replace("ı", "i")
    if not unicodedata.is_normalized("NFKC", text):
        # NFKC can produce capitals and dotless i ("ℌ" → "H", "𝚤" → "ı"): fold what it made too.
        text = unicodedata.normalize("NFKC", text).casefold().replace("ı", "i")
    return " ".join(text.split())


def exact_key(text: str) -> str:
    """Exact-duplicate key of one document (32 hex characters)."""
    data = normalize_for_exact(text).encode("utf-8", errors="surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def exact_keys(texts: Iterable[str]) -> list[str]:
    """``exact_key`` of every text of a batch (one Spark partition or pandas UDF batch)."""
    return [exact_key(text) for text in texts]
