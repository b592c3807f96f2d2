"""Section 3: what every rater said: a histogram per numeric column of each attribute set, and the pass
rate of each boolean column. Attribute sets are streamed part by part, so the size of a corpus does not
matter; the value range comes from the set's manifest summary when it has one."""

from __future__ import annotations

import math
from pathlib import Path

from curation.parquet_stream import open_parquet_stream
from curation.report import formatting as fmt
from curation.report.charts import make_chart, short_label
from curation.report.document import Block, Heading, Note, Paragraph, Section, Table
from curation.report.outputs import MissingOutput, guarded, read_json, stage_output
from curation.report.state import PipelineState, Stage

MAX_COLUMNS = 12  # histograms per attribute set; more would not be read
BINS = 30
COLUMNS_PER_ROW = 4


def scores_section(state: PipelineState) -> Section | None:
    stages = state.with_output("attributes")
    if not stages:
        return None
    section = Section("scores", "Score distributions")
    section.add(
        Paragraph(
            f"One histogram per numeric column of each attribute set (at most {MAX_COLUMNS} per set), over all "
            "documents of the corpus it describes; boolean columns as pass rates. Undefined values (null or NaN) "
            "are counted, not drawn."
        )
    )
    for stage in stages:
        section.add(Heading(f"{stage.name} ({stage.kind})"))
        section.add(*guarded(stage, _attribute_set))
    return section


def _attribute_set(stage: Stage) -> list[Block]:
    import pyarrow as pa

    from curation.attributes import ATTRIBUTES_FORMAT, part_name
    from curation.corpus import read_parquet_schema

    root = stage_output(stage, "attributes")
    manifest = read_json(root / "manifest.json", f"the attribute set {root}")
    if manifest.get("format") != ATTRIBUTES_FORMAT:
        raise MissingOutput(f"{root / 'manifest.json'}: not an attribute set (format={manifest.get('format')!r})")
    parts = [root / part_name(i) for i in range(int(manifest.get("shards") or 0))]
    missing = [p.name for p in parts if not p.is_file()]
    if missing or not parts:
        raise MissingOutput(f"{root}: parts missing ({', '.join(missing[:3]) or 'none listed'}); the set is incomplete")
    schema = read_parquet_schema(str(parts[0]))
    numeric = [
        f.name for f in schema if f.name != "id" and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    ]
    booleans = [f.name for f in schema if pa.types.is_boolean(f.type)]
    others = [f.name for f in schema if f.name != "id" and f.name not in numeric and f.name not in booleans]
    summary = manifest.get("summary") or {}
    blocks: list[Block] = [
        Paragraph(
            f"{manifest.get('name') or root.name}: {fmt.count(manifest.get('rows'))} documents; "
            f"{len(numeric)} numeric, {len(booleans)} boolean and {len(others)} other columns"
            + (f" ({', '.join(others)}, not drawn)" if others else "")
            + "."
        )
    ]
    shown = numeric[:MAX_COLUMNS]
    if shown:
        histograms = _histograms(parts, shown, summary)
        blocks.append(_chart(stage.name, histograms))
        rows = []
        for column in shown:
            counts, edges, undefined = histograms[column]
            stats = summary.get(column) or {}
            rows.append(
                [
                    column,
                    fmt.number(stats.get("mean")),
                    fmt.number(stats.get("min", edges[0] if counts.sum() else None)),
                    fmt.number(stats.get("max", edges[-1] if counts.sum() else None)),
                    fmt.count(int(counts.sum())),
                    fmt.count(undefined),
                ]
            )
        blocks.append(Table(["column", "mean", "min", "max", "defined", "undefined"], rows, frozenset({1, 2, 3, 4, 5})))
    if len(numeric) > MAX_COLUMNS:
        rest = numeric[MAX_COLUMNS:]
        blocks.append(Note(f"{len(rest)} more numeric columns are not drawn: {', '.join(rest)}."))
    if booleans:
        rates = _pass_rates(parts, booleans, summary)
        rows = [
            [name, fmt.count(true), fmt.count(rows), fmt.percent(true, rows)] for name, (true, rows) in rates.items()
        ]
        blocks.append(Table(["column", "true", "documents", "pass rate"], rows, frozenset({1, 2, 3})))
    return blocks


def _value_ranges(parts: list[Path], columns: list[str], summary: dict) -> dict[str, tuple[float, float] | None]:
    """(min, max) of the finite values per column: from the manifest summary, else one pass over the parts."""
    import numpy as np

    ranges: dict[str, tuple[float, float] | None] = {}
    unknown = []
    for column in columns:
        stats = summary.get(column) or {}
        low, high = stats.get("min"), stats.get("max")
        if (
            isinstance(low, int | float)
            and isinstance(high, int | float)
            and math.isfinite(low)
            and math.isfinite(high)
        ):
            ranges[column] = (float(low), float(high))
        else:
            unknown.append(column)
            ranges[column] = None
    for part in parts if unknown else []:
        for batch in open_parquet_stream(part).iter_batches(columns=unknown, batch_size=65536):
            for column in unknown:
                values = _finite(batch.column(column))
                if values.size:
                    low, high = float(np.min(values)), float(np.max(values))
                    seen = ranges[column]
                    ranges[column] = (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
    return ranges


def _finite(array):
    import numpy as np

    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls become NaN
    return values[np.isfinite(values)]


def _histograms(parts: list[Path], columns: list[str], summary: dict):
    """column -> (counts, bin edges, number of undefined values)."""
    import numpy as np

    ranges = _value_ranges(parts, columns, summary)
    edges = {}
    for column, bounds in ranges.items():
        low, high = bounds or (0.0, 1.0)
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges[column] = np.linspace(low, high, BINS + 1)
    counts = {column: np.zeros(BINS, dtype=np.int64) for column in columns}
    undefined = dict.fromkeys(columns, 0)
    for part in parts:
        for batch in open_parquet_stream(part).iter_batches(columns=columns, batch_size=65536):
            for column in columns:
                values = _finite(batch.column(column))
                undefined[column] += batch.num_rows - values.size
                counts[column] += np.histogram(values, bins=edges[column])[0]
    return {column: (counts[column], edges[column], undefined[column]) for column in columns}


def _pass_rates(parts: list[Path], columns: list[str], summary: dict) -> dict[str, tuple[int, int]]:
    import pyarrow.compute as pc

    rates = {}
    unknown = []
    for column in columns:
        stats = summary.get(column) or {}
        if isinstance(stats.get("true"), int) and isinstance(stats.get("rows"), int):
            rates[column] = (stats["true"], stats["rows"])
        else:
            unknown.append(column)
            rates[column] = (0, 0)
    for part in parts if unknown else []:
        for batch in open_parquet_stream(part).iter_batches(columns=unknown, batch_size=65536):
            for column in unknown:
                true, rows = rates[column]
                rates[column] = (true + int(pc.sum(batch.column(column)).as_py() or 0), rows + batch.num_rows)
    return rates


def _chart(name: str, histograms: dict):
    columns = list(histograms)
    per_row = min(COLUMNS_PER_ROW, len(columns))
    n_rows = math.ceil(len(columns) / per_row)

    def draw(fig):
        axes = fig.subplots(n_rows, per_row, squeeze=False)
        for index, ax in enumerate(axes.flat):
            if index >= len(columns):
                ax.set_visible(False)
                continue
            column = columns[index]
            counts, edges, undefined = histograms[column]
            ax.bar(edges[:-1], counts, width=edges[1:] - edges[:-1], align="edge", color="#1f77b4")
            ax.set_title(short_label(column, 34), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(axis="y", alpha=0.3)

    return make_chart(f"scores-{name}", f"Score distributions of {name}", draw, (2.7 * per_row, 2.0 * n_rows + 0.2))
