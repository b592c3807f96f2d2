"""Packing splits into Spark tasks (curation.ingest.tasks) and what it must not change."""

from __future__ import annotations

import pytest

from curation.ingest.tasks import pack, task_count


def test_task_count_fills_every_core_and_packs_small_inputs():
    MiB = 1 << 20
    assert task_count(40, 35 * MiB, 16 * MiB, slots=2) == 4  # 3 tasks' worth, rounded up to full waves of 2
    assert task_count(40, 1 * MiB, 16 * MiB, slots=2) == 2  # tiny input: still one task per core
    assert task_count(100, 1600 * MiB, 16 * MiB, slots=2) == 100  # splits of the target size keep a task each
    assert task_count(3, 1 * MiB, 16 * MiB, slots=8) == 3  # never more tasks than splits
    assert task_count(0, 0, 16 * MiB, slots=2) == 0
    assert task_count(5, 10 * MiB, 16 * MiB, slots=0) == 1  # a bad slot count still gives a task


def test_pack_balances_sizes_deterministically_and_keeps_every_item():
    items = [f"split-{i}" for i in range(10)]
    sizes = [9, 1, 8, 2, 7, 3, 6, 4, 5, 5]
    groups = pack(items, sizes, 3)
    assert sorted(x for g in groups for x in g) == sorted(items)  # each item once
    loads = [sum(sizes[items.index(x)] for x in g) for g in groups]
    assert max(loads) - min(loads) <= 2 and loads == sorted(loads, reverse=True)  # balanced, heaviest first
    assert groups[0][0] == "split-0"  # the largest item leads the first group
    assert pack(items, sizes, 3) == groups  # the same groups every time
    assert pack(items, sizes, 20) == [[x] for x in sorted(items, key=lambda x: -sizes[items.index(x)])]
    assert pack([], [], 2) == [] and pack(items, sizes, 0) == []
    with pytest.raises(ValueError):
        pack(items, sizes[:-1], 2)
