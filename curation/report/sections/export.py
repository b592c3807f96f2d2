"""Section 7: what was exported: files, rows, bytes and checksums from the export directory's manifest
(``curation.export/v1``); every file is checked to be on disk with the size the manifest says."""

from __future__ import annotations

from curation.report import formatting as fmt
from curation.report.document import Block, Note, Paragraph, Section, Table
from curation.report.outputs import guarded, read_json, stage_output
from curation.report.state import PipelineState, Stage

EXPORT_FORMAT = "curation.export/v1"
MAX_FILES = 50


def export_section(state: PipelineState) -> Section | None:
    stages = state.with_output("export")
    if not stages:
        return None
    section = Section("export", "Export")
    for stage in stages:
        section.add(*guarded(stage, _export))
    return section


def _export(stage: Stage) -> list[Block]:
    root = stage_output(stage, "export")
    manifest = read_json(root / "manifest.json", f"the export in {root}")
    blocks: list[Block] = []
    if manifest.get("format") != EXPORT_FORMAT:
        blocks.append(Note(f"{root / 'manifest.json'}: format {manifest.get('format')!r}, expected {EXPORT_FORMAT!r}."))
    files = [entry for entry in manifest.get("files") or [] if isinstance(entry, dict)]
    rows_total = sum(int(entry.get("rows") or 0) for entry in files)
    bytes_total = sum(int(entry.get("bytes") or 0) for entry in files)
    problems = 0
    rows = []
    for entry in files:
        path = str(entry.get("path") or "?")
        on_disk = root / path
        if not on_disk.is_file():
            state, problems = "missing", problems + 1
        elif entry.get("bytes") is not None and on_disk.stat().st_size != int(entry["bytes"]):
            state, problems = "size differs", problems + 1
        else:
            state = "ok"
        if len(rows) < MAX_FILES:
            sha = str(entry.get("sha256") or "–")
            rows.append([path, fmt.count(entry.get("rows")), fmt.count(entry.get("bytes")), sha, state])
    described = [
        f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in manifest.items()
        if key in ("formats", "compression") and value
    ]
    blocks.append(
        Paragraph(
            f"{stage.name} wrote {len(files):,} files to {root}: {rows_total:,} rows, {fmt.mib(bytes_total)} MiB"
            + (f" ({'; '.join(described)})" if described else "")
            + ("; every file is on disk with the listed size." if files and not problems else ".")
        )
    )
    if problems:
        blocks.append(Note(f"{problems} exported file(s) are missing or differ in size from the manifest."))
    if rows:
        blocks.append(Table(["file", "rows", "bytes", "sha256", "on disk"], rows, frozenset({1, 2})))
    if len(files) > MAX_FILES:
        blocks.append(Note(f"{len(files) - MAX_FILES:,} more files are listed in {root / 'manifest.json'}."))
    return blocks
