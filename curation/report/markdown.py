"""report.md: the same document in Markdown, charts as PNG files beside it.

Markdown passes HTML through and turns brackets into links, so text from data is HTML-escaped and its
Markdown punctuation backslash-escaped; document samples go in fenced code blocks whose fence is longer
than any run of backticks inside them."""

from __future__ import annotations

import re
from html import escape

from curation.report.document import Chart, Heading, Note, Paragraph, Report, Samples, Table

_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~])")


def text(value: str) -> str:
    """One line of prose or a table cell, inert: no HTML, no links, no emphasis, no table breaks."""
    return _SPECIAL.sub(r"\\\1", escape(" ".join(str(value).split()), quote=False))


def fenced(value: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{value}\n{fence}"


def render_markdown(report: Report) -> str:
    lines = [f"# {text(report.title)}", ""]
    for section in report.sections:
        lines += [f"## {text(section.title)}", ""]
        for block in section.blocks:
            lines += _block(block) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _block(block) -> list[str]:
    if isinstance(block, Paragraph):
        return [text(block.text)]
    if isinstance(block, Note):
        return [f"> **Note:** {text(block.text)}"]
    if isinstance(block, Heading):
        return [f"### {text(block.text)}"]
    if isinstance(block, Table):
        align = ["---:" if i in block.numeric else "---" for i in range(len(block.columns))]
        rows = [
            "| " + " | ".join(text(c) for c in block.columns) + " |",
            "| " + " | ".join(align) + " |",
        ]
        rows += ["| " + " | ".join(text(cell) for cell in row) + " |" for row in block.rows]
        return rows
    if isinstance(block, Chart):
        return [f"![{text(block.title)}]({block.png_name})"]
    if isinstance(block, Samples):
        lines = [f"#### {text(block.title)}", ""]
        for index, item in enumerate(block.items, 1):
            lines += [f"{index}. {text(item.label)}", "", fenced(item.text), ""]
        return lines
    raise TypeError(f"unknown report block {type(block).__name__}")
