"""Stable document ids and the deterministic shard assignment derived from them."""

from __future__ import annotations

import hashlib


def content_id(url: str | None, text: str) -> str:
    """Id for a record whose source gives none: a hash of url and text, stable across runs."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update((url or "").encode("utf-8", errors="surrogatepass"))
    digest.update(b"\x00")
    digest.update(text.encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()


def shard_of(doc_id: str, n_shards: int) -> int:
    """Shard index of a document: a keyed hash of its id, independent of Python's hash seed."""
    digest = hashlib.blake2b(doc_id.encode("utf-8", errors="surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards
