"""How many torch threads each Meta-rater proxy worker takes."""

from __future__ import annotations

import os

from raters.metarater.proxy_runs import threads_per_worker


def test_workers_share_the_cores_and_respect_omp_num_threads(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [threads_per_worker(w) for w in (1, 2, 3, 16)] == [8, 4, 2, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a fixed count the user asked for: never more
    assert threads_per_worker(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "16")  # never more than the worker's share either
    assert threads_per_worker(2) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "many")  # not a count: ignored
    assert threads_per_worker(4) == 2
