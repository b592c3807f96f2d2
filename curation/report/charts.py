"""Charts drawn with matplotlib, kept as inline SVG for report.html and PNG for report.md.

The SVG is made fit to sit inside HTML: no XML prolog, no metadata (matplotlib writes its URL there), no
namespace declarations (an inline ``<svg>`` is in the SVG namespace already), ids prefixed with the chart's
name so that two charts in one page never share one, its stylesheet scoped to charts, and text kept as text. Labels come from data (rule
clauses, column names), so mathtext is off: a ``$`` in a label is a dollar sign, not TeX.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import escape

from curation.report.document import Chart

# Colours that stay apart in print and for the common colour-vision deficiencies (matplotlib's tab10 start).
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_ID_REFERENCES = re.compile(r'(\bid="|xlink:href="#|url\(#)([^")]+)')


def make_chart(name: str, title: str, draw: Callable, figsize: tuple[float, float]) -> Chart:
    """Call ``draw(fig)`` on a new matplotlib Figure and keep the result as SVG and PNG."""
    import matplotlib
    from matplotlib.figure import Figure

    name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "chart"
    settings = {
        "svg.fonttype": "none",
        "svg.hashsalt": f"curation-report-{name}",
        "text.parse_math": False,
        "font.size": 9,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    }
    with matplotlib.rc_context(settings):
        fig = Figure(figsize=figsize, layout="constrained")
        draw(fig)
        svg_buffer, png_buffer = io.BytesIO(), io.BytesIO()
        fig.savefig(svg_buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
        fig.savefig(png_buffer, format="png", dpi=100, metadata={"Software": None})
    return Chart(name, title, _inline_svg(svg_buffer.getvalue().decode("utf-8"), name, title), png_buffer.getvalue())


def _inline_svg(svg: str, name: str, title: str) -> str:
    svg = svg[svg.index("<svg") :]
    svg = _METADATA.sub("", svg)
    # Ids are page-wide in HTML: prefix them (and what refers to them) with the chart's name.
    svg = _ID_REFERENCES.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    # matplotlib's stylesheet says ``*{...}``; inside HTML that would reach the whole page.
    svg = svg.replace('<style type="text/css">*{', '<style type="text/css">svg.chart *{', 1)
    head_end = svg.index(">")
    head = _NAMESPACES.sub("", svg[:head_end])
    label = escape(title, quote=True)
    head = head.replace(
        "<svg", f'<svg class="chart" data-chart="{escape(name, quote=True)}" role="img" aria-label="{label}"', 1
    )
    return head + svg[head_end:].rstrip() + "\n"


def short_label(text: str, limit: int = 48) -> str:
    """Axis labels stay readable: long clauses are cut with an ellipsis (the tables have them whole)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
