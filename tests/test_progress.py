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


def test_task_progress_counts_the_tasks_of_the_jobs_in_its_block_from_sparks_status_tracker(spark):
    from curation.progress import TaskProgress

    sc = spark.sparkContext
    sc.parallelize(range(3), 3).count()  # a job before the block is not counted
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    progress = TaskProgress(console, sc, "select", 800, interval_s=0.01, line_every_s=0.0)
    with progress:
        sc.parallelize(range(8), 8).map(lambda x: time.sleep(0.05) or x).collect()
        done, documents, text = progress.status()
    assert progress.tasks() == (8, 8) and (done, documents) == (8, 800)
    assert "docs/s" in text
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("select: ") and "/8 tasks" in line for line in lines), lines
    assert sc.getLocalProperty("spark.jobGroup.id") is None  # the block's job group does not outlive it
    # Without a document count (several jobs whose later stages are not known yet): tasks only.
    tasks_only = TaskProgress(console, sc, "dedup", None, interval_s=0.01)
    with tasks_only:
        sc.parallelize(range(4), 4).count()
        sc.parallelize(range(2), 2).count()
        assert tasks_only.status()[:2] == (6, 0) and tasks_only.status()[2].endswith("tasks/s")
