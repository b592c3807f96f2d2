"""The end-of-job summary: per input (read, kept, rejected, input errors, size), then reasons."""

from __future__ import annotations

from pathlib import Path


def print_summary(result, console=None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    from curation.readers.records import INPUT_FAILURES, REJECT_REASONS
    from curation.text.normalize import valid_unicode

    console = console or Console(width=None if sys.stdout.isatty() else 110)
    manifest = result.manifest
    counts = manifest["counts"]
    table = Table(title=f"ingest → {result.out}", title_justify="left")
    table.add_column("input", overflow="fold")
    table.add_column("format")
    for name in ("read", "kept", "rejected", "input errors", "MiB", "task s"):
        table.add_column(name, justify="right")
    for entry in manifest["inputs"]:
        table.add_row(
            valid_unicode(Path(entry["path"]).name),
            f"{entry['format']}/{entry['layout']}",
            f"{entry['records_read']:,}",
            f"{entry['documents']:,}",
            f"{sum(entry['rejected'].values()):,}",
            f"{sum(entry['input_errors'].values()):,}",
            f"{entry['size'] / (1 << 20):,.1f}",
            f"{result.input_seconds.get(entry['path'], 0):,.1f}" if result.input_seconds else "-",
        )
    table.add_section()
    table.add_row(
        f"total, {len(manifest['inputs'])} files",
        "",
        f"{counts['records_read']:,}",
        f"{counts['documents']:,}",
        f"{sum(counts['rejected'].values()):,}",
        f"{sum(counts['input_errors'].values()):,}",
        f"{sum(e['size'] for e in manifest['inputs']) / (1 << 20):,.1f}",
        f"{sum(result.input_seconds.values()):,.1f}" if result.input_seconds else "-",
    )
    print_problems(result.problems, console)
    console.print(table)
    if counts["rejected"] or counts["input_errors"]:
        reasons = Table(title="rejects/ by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("count", justify="right")
        reasons.add_column("meaning", overflow="fold")
        for reason, n in sorted(counts["rejected"].items(), key=lambda kv: -kv[1]):
            reasons.add_row(reason, f"{n:,}", REJECT_REASONS.get(reason, ""))
        for reason, n in sorted(counts["input_errors"].items(), key=lambda kv: -kv[1]):
            reasons.add_row(f"{reason} (input)", f"{n:,}", INPUT_FAILURES.get(reason, ""))
        console.print(reasons)
    state = "already complete, skipped" if result.skipped else f"{result.seconds:,.1f} s"
    largest = max((shard["bytes"] for shard in manifest["shards"]), default=0)
    console.print(
        f"{counts['documents']:,} documents in {len(manifest['shards'])} shards, {counts['bytes_out'] / (1 << 20):,.1f} MiB of text "
        f"(largest shard {largest / (1 << 20):,.1f} MiB); "
        f"{counts['records_read']:,} read = {counts['documents']:,} kept + {sum(counts['rejected'].values()):,} rejected; {state}"
        + (f"; MLflow run {result.run_id}" if result.run_id else ""),
        highlight=False,
    )


def print_problems(problems, console) -> None:
    """One line per problem: each input failure, and each (input, reason) of rejected records."""
    from curation.readers.records import INPUT_FAILURES
    from curation.schema import sample_of
    from curation.text.normalize import valid_unicode

    for path, reason, n, locator, detail in problems:
        if reason == "warc_record_skipped":  # requests, warcinfo, metadata: expected, not a problem
            continue
        name = valid_unicode(Path(path).name)
        detail = sample_of(" ".join(valid_unicode(detail).split()), 400)  # one printable line, whatever the input held
        if reason in INPUT_FAILURES:
            console.print(
                f"input error: {name} {locator}: {reason}: {detail}", highlight=False, markup=False, soft_wrap=True
            )
        else:
            records = "record" if n == 1 else "records"
            console.print(
                f"rejected: {name}: {n:,} {records} as {reason} (first at {locator}: {detail})",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
