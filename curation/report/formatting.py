"""Numbers as a report shows them."""

from __future__ import annotations

from pathlib import Path

from curation.schema import sample_of


def count(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def mib(value) -> str:
    return "–" if value is None else f"{value / (1 << 20):,.2f}"


def percent(part, whole) -> str:
    if part is None or not whole:
        return "–"
    return f"{100 * part / whole:.1f}%"


def seconds(value) -> str:
    return "–" if value is None else f"{value:,.1f}"


def number(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def relative(path: Path | str | None, root: Path | str) -> str:
    """A path under the workdir as a relative one (shorter tables); any other path whole. Paths and URLs alike."""
    if path is None:
        return "–"
    prefix = f"{str(root).rstrip('/')}/"
    return str(path)[len(prefix) :] if str(path).startswith(prefix) else str(path)


def excerpt(text: str | None, limit: int = 300) -> str:
    """The start of an untrusted text, printable characters only, with an ellipsis when cut."""
    text = text or ""
    cut = sample_of(text, limit)
    return cut + "…" if len(text) > limit else cut
