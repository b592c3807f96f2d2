"""Section 4: what was removed and why, with examples, and what was kept.

Removed documents come from each corpus stage's ``rejects/`` (source file, locator, reason, detail, a short
sample): counted per reason, and per clause for selections (their reason is ``rule``, the clause is in the
detail), with the first few samples of each. The kept examples are the first documents of the final corpus.
All of it is untrusted web text; the renderers escape it.
"""

from __future__ import annotations

from collections import Counter

from curation.parquet_stream import open_parquet_stream
from curation.report import formatting as fmt
from curation.report.document import Block, Heading, Note, Paragraph, Sample, Samples, Section, Table
from curation.report.outputs import MissingOutput, corpus_manifest, guarded, stage_output
from curation.report.state import PipelineState, Stage

EXAMPLES = 3
EXAMPLE_CHARS = 300


def examples_section(state: PipelineState) -> Section | None:
    stages = state.with_output("corpus")
    if not stages:
        return None
    section = Section("examples", "Removed and kept documents")
    section.add(
        Paragraph(
            f"Per stage, the documents it removed, by reason (selections: by the first clause a document failed), "
            f"with up to {EXAMPLES} samples each, cut to {EXAMPLE_CHARS} characters; then {EXAMPLES} documents of "
            "the final corpus."
        )
    )
    for stage in stages:
        section.add(Heading(f"Removed by {stage.name}"))
        section.add(*guarded(stage, _removed))
    from curation.report.sections.funnel import SIDE_BRANCHES

    final = next((s for s in reversed(stages) if not s.failed and s.kind not in SIDE_BRANCHES), None)
    if final is None:
        section.add(Note("Every corpus stage failed: there is no final corpus to show documents of."))
    else:
        section.add(Heading(f"Kept: the first documents of the final corpus ({final.name})"))
        section.add(*guarded(final, _kept))
    return section


def _removed(stage: Stage) -> list[Block]:
    root = stage_output(stage, "corpus")
    manifest = corpus_manifest(root)
    counts = manifest.get("counts") or {}
    total = counts.get("records_read")
    files = [root / entry["path"] for entry in manifest.get("rejects") or []]
    blocks: list[Block] = []
    present = [path for path in files if path.is_file()]
    if len(present) < len(files):
        blocks.append(
            Note(f"{len(files) - len(present)} rejects file(s) listed in {root / 'manifest.json'} are missing.")
        )
    tally: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    examples: dict[str, list[Sample]] = {}
    for path in present:
        for batch in open_parquet_stream(path).iter_batches(batch_size=65536):
            reason = batch.column("reason").to_pylist()
            detail = batch.column("detail").to_pylist()
            keys = [d if r == "rule" and d else r for r, d in zip(reason, detail, strict=True)]
            tally.update(keys)
            for index, key in enumerate(keys):
                chosen = examples.setdefault(key, [])
                reasons.setdefault(key, reason[index])
                if len(chosen) < EXAMPLES:
                    chosen.append(_sample(batch, index, key))
    if not tally:
        return [*blocks, Paragraph(f"{stage.name} removed no documents.")]
    ordered = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [
        [reasons[key], key if key != reasons[key] else "–", fmt.count(n), fmt.percent(n, total)] for key, n in ordered
    ]
    blocks.append(Table(["reason", "clause", "documents", "% of input"], rows, frozenset({2, 3})))
    for key, n in ordered:
        blocks.append(Samples(f"{key} ({n:,})", examples[key]))
    return blocks


def _sample(batch, index: int, key: str) -> Sample:
    locator = batch.column("locator")[index].as_py() or ""
    detail = batch.column("detail")[index].as_py() or ""
    source = batch.column("source_file")[index].as_py() or ""
    label = f"{locator} in {source}" if source else locator
    if detail and detail != key:
        label += f": {fmt.excerpt(detail, 160)}"
    return Sample(label, fmt.excerpt(batch.column("sample")[index].as_py(), EXAMPLE_CHARS))


def _kept(stage: Stage) -> list[Block]:
    from curation.corpus import Corpus
    from curation.errors import CorpusError

    root = stage_output(stage, "corpus")
    try:
        corpus = Corpus.open(str(root))
    except CorpusError as exc:
        raise MissingOutput(str(exc)) from exc
    items: list[Sample] = []
    for path in corpus.shard_paths:
        for batch in open_parquet_stream(path).iter_batches(batch_size=EXAMPLES, columns=["id", "url", "text"]):
            for row in batch.to_pylist():
                if len(items) < EXAMPLES:
                    label = row["id"] + (f" ({row['url']})" if row.get("url") else "")
                    items.append(Sample(label, fmt.excerpt(row["text"], EXAMPLE_CHARS)))
            break
        if len(items) >= EXAMPLES:
            break
    if not items:
        return [Paragraph(f"The final corpus ({root}) holds no documents.")]
    return [Samples(f"{corpus.num_documents:,} documents kept; the first {len(items)}", items)]
