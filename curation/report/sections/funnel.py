"""Section 2: documents and bytes through the pipeline: records read, ingested documents (and the ingest
rejects by reason), each clause of every selection, and the output of later corpus stages such as the mix."""

from __future__ import annotations

from dataclasses import dataclass

from curation.report import formatting as fmt
from curation.report.charts import make_chart, short_label
from curation.report.document import Block, Heading, Note, Paragraph, Section, Table
from curation.report.outputs import READ_ERRORS, MissingOutput, corpus_manifest, stage_output
from curation.report.state import PipelineState, Stage


@dataclass(frozen=True)
class Step:
    label: str
    documents: int | None
    bytes: int | None


# Corpus stages off the main line (made for comparison, not read by later stages): summarised, not in the funnel.
SIDE_BRANCHES = {"datarater_only": "the corpus filtered by DataRater alone (a validation comparison)"}


def funnel_section(state: PipelineState) -> Section | None:
    stages = state.with_output("corpus")
    if not stages:
        return None
    section = Section("funnel", "Funnel")
    steps: list[Step] = []
    details: list[Block] = []
    for stage in stages:
        if stage.kind in SIDE_BRANCHES:
            details += _side_branch(stage)
            continue
        try:
            manifest = corpus_manifest(stage_output(stage, "corpus"))
            new_steps, blocks = _stage_steps(stage, manifest, steps[-1] if steps else None)
        except MissingOutput as exc:
            section.add(Note(str(exc)))
            continue
        except READ_ERRORS as exc:
            section.add(Note(f"stage {stage.name!r}: its corpus manifest could not be read ({exc})"))
            continue
        steps += new_steps
        details += blocks
    if not steps:
        section.add(Note("No corpus stage has finished, so there is no funnel yet."))
        return section
    first_documents = next((s.documents for s in steps if s.documents), None)
    first_bytes = next((s.bytes for s in steps if s.bytes), None)
    section.add(
        Paragraph(
            f"{fmt.count(steps[-1].documents)} of {fmt.count(first_documents)} documents "
            f"({fmt.percent(steps[-1].documents, first_documents)}) and {fmt.mib(steps[-1].bytes)} of "
            f"{fmt.mib(first_bytes)} MiB of text ({fmt.percent(steps[-1].bytes, first_bytes)}) come out of "
            "the last corpus stage. Each row is what survives the step named; selection clauses apply in order."
        )
    )
    section.add(_chart(steps))
    rows, previous = [], None
    for step in steps:
        dropped = None if previous is None or step.documents is None else previous - step.documents
        rows.append(
            [
                step.label,
                fmt.count(step.documents),
                fmt.percent(step.documents, first_documents),
                fmt.count(dropped),
                fmt.mib(step.bytes),
                fmt.percent(step.bytes, first_bytes),
            ]
        )
        previous = step.documents if step.documents is not None else previous
    section.add(
        Table(
            ["step", "documents", "% of input", "dropped here", "MiB", "% of bytes"], rows, frozenset({1, 2, 3, 4, 5})
        )
    )
    section.add(*details)
    return section


def _stage_steps(stage: Stage, manifest: dict, previous: Step | None) -> tuple[list[Step], list[Block]]:
    counts = manifest.get("counts") or {}
    documents, bytes_out = counts.get("documents"), counts.get("bytes_out")
    if stage.kind == "ingest" or manifest.get("kind") == "ingest":
        steps = [
            Step(f"{stage.name}: records read", counts.get("records_read"), None),
            Step(f"{stage.name}: documents", documents, bytes_out),
        ]
        return steps, _ingest_rejects(stage, counts)
    funnel = manifest.get("funnel")
    if funnel:
        steps = []
        first = funnel[0]
        if previous is None or previous.documents != first.get("documents"):
            steps.append(Step(f"{stage.name}: input", first.get("documents"), first.get("bytes")))
        for clause in funnel[1:]:
            steps.append(Step(f"{stage.name}: {clause.get('clause')}", clause.get("documents"), clause.get("bytes")))
        return steps, []
    blocks: list[Block] = []
    mixture = manifest.get("mixture")
    if isinstance(mixture, dict) and mixture:
        blocks = [Heading(f"Mixture of {stage.name}"), _mixture_table(mixture)]
    return [Step(stage.name, documents, bytes_out)], blocks


def _ingest_rejects(stage: Stage, counts: dict) -> list[Block]:
    read = counts.get("records_read")
    rows = [
        [reason, "rejected", fmt.count(n), fmt.percent(n, read)] for reason, n in (counts.get("rejected") or {}).items()
    ]
    rows += [
        [reason, "input error", fmt.count(n), fmt.percent(n, read)]
        for reason, n in (counts.get("input_errors") or {}).items()
    ]
    if not rows:
        return [Paragraph(f"{stage.name}: every record read became a document.")]
    rows.sort(key=lambda row: -int(row[2].replace(",", "")))
    return [
        Heading(f"{stage.name}: records that did not become documents"),
        Table(["reason", "kind", "records", "% of read"], rows, frozenset({2, 3})),
    ]


def _side_branch(stage: Stage) -> list[Block]:
    try:
        counts = corpus_manifest(stage_output(stage, "corpus")).get("counts") or {}
    except (MissingOutput, *READ_ERRORS):
        return []
    kept, read = counts.get("documents"), counts.get("records_read")
    return [
        Paragraph(
            f"Beside the funnel, {stage.name}: {SIDE_BRANCHES[stage.kind]} keeps {fmt.count(kept)} of "
            f"{fmt.count(read)} documents ({fmt.percent(kept, read)})."
        )
    ]


MIXTURE_COLUMNS = (
    ("target_share", "target"),
    ("documents_available", "documents available"),
    ("tokens_available", "tokens available"),
    ("quota_tokens", "quota"),
    ("tokens_selected", "tokens selected"),
    ("tokens_repeated", "tokens repeated"),
    ("achieved_share", "achieved"),
)


def _mixture_table(mixture: dict) -> Table:
    """One row per value of the mixed column (``curate mix``'s manifest), else the description as it is."""
    values = mixture.get("values")
    if isinstance(values, dict) and all(isinstance(v, dict) for v in values.values()):
        rows = []
        for name, entry in values.items():
            cells = []
            for key, _ in MIXTURE_COLUMNS:
                value = entry.get(key)
                shares = key in ("target_share", "achieved_share") and isinstance(value, int | float)
                cells.append(f"{100 * value:.1f}%" if shares else fmt.number(value))
            rows.append([str(name), *cells])
        header = [str(mixture.get("column", "value")), *(label for _, label in MIXTURE_COLUMNS)]
        return Table(header, rows, frozenset(range(1, len(header))))
    rows = []
    for key, value in mixture.items():
        if isinstance(value, dict):
            text = ", ".join(f"{k}: {fmt.number(v) if isinstance(v, int | float) else v}" for k, v in value.items())
        elif isinstance(value, int | float):
            text = fmt.number(value)
        else:
            text = str(value)
        rows.append([str(key), text])
    return Table(["mixture", "value"], rows)


def _chart(steps: list[Step]):
    labels = [short_label(step.label) for step in steps]

    def draw(fig):
        import numpy as np

        axes = fig.subplots(1, 2, sharey=True)
        y = np.arange(len(steps))[::-1]
        documents = [step.documents or 0 for step in steps]
        mib = [(step.bytes or 0) / (1 << 20) for step in steps]
        for ax, values, title, colour in (
            (axes[0], documents, "documents", "#1f77b4"),
            (axes[1], mib, "MiB of text", "#ff7f0e"),
        ):
            ax.barh(y, values, color=colour)
            ax.set_title(title)
            ax.grid(axis="x", alpha=0.3)
            for yi, value, step in zip(y, values, steps, strict=True):
                known = step.documents is not None if title == "documents" else step.bytes is not None
                text = (f"{value:,.0f}" if title == "documents" else f"{value:,.2f}") if known else "n/a"
                ax.annotate(text, (value, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
            ax.margins(x=0.18)
        axes[0].set_yticks(y, labels)

    return make_chart("funnel", "Documents and bytes after each step", draw, (10, 0.32 * len(steps) + 1.3))
