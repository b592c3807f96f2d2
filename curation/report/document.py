"""What a report is made of, independent of how it is written out: sections holding text, notes, tables,
charts and document samples. ``html.py`` and ``markdown.py`` render the same document two ways, and both
escape every string that came from data (document text is untrusted web text)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Note:
    """Something the reader should know is missing or partial (a stage that failed, an unfinished output)."""

    text: str


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()  # indices of right-aligned columns


@dataclass(frozen=True)
class Chart:
    """A chart drawn once, kept as inline SVG (for HTML) and as PNG bytes (a file beside report.md)."""

    name: str  # file stem, e.g. "funnel"; unique within a report
    title: str
    svg: str
    png: bytes

    @property
    def png_name(self) -> str:
        return f"chart-{self.name}.png"


@dataclass(frozen=True)
class Sample:
    label: str  # where the sample came from: id or locator, reason detail
    text: str


@dataclass(frozen=True)
class Samples:
    title: str
    items: list[Sample]


Block = Paragraph | Note | Heading | Table | Chart | Samples


@dataclass
class Section:
    anchor: str  # HTML id; stable, so links into a report keep working
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Report:
    title: str
    sections: list[Section]

    @property
    def charts(self) -> list[Chart]:
        return [block for section in self.sections for block in section.blocks if isinstance(block, Chart)]
