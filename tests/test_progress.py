"""Progress of stages that commit one file per shard, read from the committed files."""

from __future__ import annotations

import io
import time

from rich.console import Console

from curation.progress import PartProgress


def test_parts_documents_and_rate_come_from_committed_files_and_a_resumed_part_is_not_in_the_rate(tmp_path):
    parts = [tmp_path / f"part-{i:05d}.parquet" for i in range(4)]
    parts[0].write_bytes(b"from an interrupted run")
    out = io.StringIO()
    progress = PartProgress(Console(file=out, force_terminal=False, width=200), "signals", parts, [100, 200, 300, 400],
                            interval_s=0.01, line_every_s=0.0)  # fmt: skip
    assert progress.status() == (1, 100, "100 documents (0 docs/s)")  # a resumed part is done, not in the rate
    with progress:
        for path in parts[1:3]:
            time.sleep(0.05)
            path.write_bytes(b"")
        time.sleep(0.05)
        done, documents, text = progress.status()
    assert (done, documents) == (3, 600)
    rate = float(text.split("(")[1].split(" docs/s")[0].replace(",", ""))
    elapsed = time.perf_counter() - progress.started
    assert 500 / elapsed - 1 <= rate <= 500 / 0.15 + 1  # the 500 new documents over at least the 3 sleeps
    assert "s left" in text
    lines = out.getvalue().splitlines()
    assert lines and lines[-1].startswith("signals: 3/4 parts, 600 documents"), lines
    assert all(line.startswith("signals: ") for line in lines)
