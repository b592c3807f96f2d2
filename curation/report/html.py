"""report.html: one self-contained file. Inline CSS, charts as inline SVG, no script, no external URL; a
Content-Security-Policy that allows nothing else, so even a missed escape could not run or fetch anything.
Every string from data goes through ``escape``; only the SVG matplotlib wrote is inserted as markup."""

from __future__ import annotations

from html import escape

from curation.report.document import Chart, Heading, Note, Paragraph, Report, Samples, Section, Table

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       max-width: 1120px; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.4rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
h4 { font-size: .95rem; margin: 1rem 0 .3rem; }
nav { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .9rem; }
nav a { color: #0550ae; text-decoration: none; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .86rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
.note { border-left: 4px solid #d4a72c; background: #fff8e5; padding: .35rem .7rem; margin: .6rem 0; }
figure { margin: .8rem 0 1.2rem; }
figcaption { font-size: .85rem; color: #57606a; }
svg.chart { display: block; max-width: 100%; height: auto; }
.samples ol { padding-left: 1.4rem; margin: .2rem 0 .8rem; }
.samples li { margin-bottom: .4rem; }
.sample-label { font-size: .8rem; color: #57606a; overflow-wrap: anywhere; }
pre.sample { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; border: 1px solid #e1e4e8;
             padding: .4rem .6rem; margin: .15rem 0 0; font-size: .8rem; max-height: 14rem; overflow: auto; }
@media print { nav { display: none; } pre.sample { max-height: none; } }
"""


def render_html(report: Report) -> str:
    nav = "".join(f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in report.sections)
    body = "\n".join(_section(section) for section in report.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>{escape(report.title)}</h1>\n<nav>{nav}</nav>\n</header>\n<main>\n{body}\n</main>\n"
        "</body>\n</html>\n"
    )


def _section(section: Section) -> str:
    parts = [f'<section id="{escape(section.anchor)}">', f"<h2>{escape(section.title)}</h2>"]
    parts += [_block(block) for block in section.blocks]
    parts.append("</section>")
    return "\n".join(parts)


def _block(block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Note):
        return f'<p class="note" role="note">{escape(block.text)}</p>'
    if isinstance(block, Heading):
        return f"<h3>{escape(block.text)}</h3>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Chart):
        # The SVG is matplotlib's output (labels escaped by matplotlib), not data: inserted as markup.
        return f'<figure id="chart-{escape(block.name)}">\n{block.svg}<figcaption>{escape(block.title)}</figcaption>\n</figure>'
    if isinstance(block, Samples):
        items = "".join(
            f'<li><div class="sample-label">{escape(item.label)}</div><pre class="sample">{escape(item.text)}</pre></li>'
            for item in block.items
        )
        return f'<div class="samples"><h4>{escape(block.title)}</h4><ol>{items}</ol></div>'
    raise TypeError(f"unknown report block {type(block).__name__}")


def _table(table: Table) -> str:
    def cls(index: int) -> str:
        return ' class="num"' if index in table.numeric else ""

    head = "".join(f"<th{cls(i)}>{escape(c)}</th>" for i, c in enumerate(table.columns))
    rows = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{escape(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
