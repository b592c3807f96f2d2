"""The same pipeline config in two places (local mode and a standalone cluster): compare what every stage wrote.

Shared by ``tests/jobs/test_cluster_pipeline.py`` and ``benchmarks/reliability_cluster.py``. Two finished work
directories of ``curate run`` with configs that differ only in ``spark.master`` must hold, stage by stage:

* every data file byte-identical: corpus shards, attribute parts (signals, dedup, DataRater scores and keep
  flags), export files; rejects files row-identical (select and mix name the shard a reject came from by its
  absolute path, which names the work directory): ``kill_points.data_files``;
* the DataRater's weights byte-identical (training runs on the driver, in torch);
* the manifests' counts, funnel, mixture, rows and listed files equal (run ids, paths and timings may differ);
* every float score bit-identical, NaN where NaN (``score_differences``), said separately because it is what
  a user compares first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.kill_points import _summary, data_files


def executor_env() -> dict[str, str]:
    """Environment for a ``local_cluster``'s daemons: their executors' Python workers import this checkout (the
    venv may hold an installed copy of another one)."""
    import os

    from tests.reliability.kill_points import ROOT

    return {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


@dataclass
class StageComparison:
    stage: str
    outputs: list[str]  # relative to the work directory
    files: int = 0  # data and weight files compared
    identical: int = 0
    manifests_equal: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.problems


def _state(work: Path) -> dict[str, Any]:
    return json.loads((work / "pipeline.json").read_text(encoding="utf-8"))


def _weights(work: Path, output: str) -> dict[str, str]:
    from curation.corpus import file_sha256

    base = work / output
    return {p.relative_to(work).as_posix(): file_sha256(p) for p in sorted(base.rglob("*.safetensors"))}


def compare_stages(a: Path, b: Path) -> list[StageComparison]:
    """Stage by stage (in ``a``'s order), what the two finished work directories wrote; ``same`` when equal."""
    state_a, state_b = _state(a), _state(b)
    stages_b = {s["name"]: s for s in state_b["stages"]}
    files_a, files_b = data_files(a), data_files(b)
    out = []
    for stage in state_a["stages"]:
        outputs = [Path(p).relative_to(a).as_posix() for p in stage["outputs"].values()]
        comparison = StageComparison(stage["name"], outputs)
        out.append(comparison)
        if stage["name"] not in stages_b:
            comparison.problems.append("did not run in the second work directory")
            continue
        for output in outputs:
            mine = {k: v for k, v in files_a.items() if k.startswith(output + "/")} | _weights(a, output)
            theirs = {k: v for k, v in files_b.items() if k.startswith(output + "/")} | _weights(b, output)
            comparison.files += len(mine.keys() | theirs.keys())
            comparison.identical += sum(1 for k in mine.keys() & theirs.keys() if mine[k] == theirs[k])
            comparison.problems += [f"{k}: only in {a.name}" for k in sorted(mine.keys() - theirs.keys())]
            comparison.problems += [f"{k}: only in {b.name}" for k in sorted(theirs.keys() - mine.keys())]
            comparison.problems += [
                f"{k}: differs" for k in sorted(mine.keys() & theirs.keys()) if mine[k] != theirs[k]
            ]
            manifest_a, manifest_b = a / output / "manifest.json", b / output / "manifest.json"
            if manifest_a.is_file() and manifest_b.is_file():
                summary_a = _summary(json.loads(manifest_a.read_text(encoding="utf-8")))
                if summary_a != _summary(json.loads(manifest_b.read_text(encoding="utf-8"))):
                    comparison.manifests_equal = False
                    comparison.problems.append(f"{output}/manifest.json: counts or contents differ")
    return out


def float_columns(work: Path) -> dict[str, Any]:
    """Every float column of every attribute set, in corpus order: ``SET.COLUMN`` -> numpy array."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, Any] = {}
    for directory in sorted(p for p in (work / "attributes").iterdir() if (p / "manifest.json").is_file()):
        table = pa.concat_tables([pq.read_table(part) for part in sorted(directory.glob("part-*.parquet"))])
        for name, kind in zip(table.column_names, table.schema.types, strict=True):
            if pa.types.is_floating(kind):
                columns[f"{directory.name}.{name}"] = table.column(name).to_numpy().astype(np.float64)
    return columns


def score_differences(a: Path, b: Path) -> tuple[int, list[str]]:
    """(float scores compared, differences): every float attribute value bit-identical, NaN where NaN."""
    import numpy as np

    mine, theirs = float_columns(a), float_columns(b)
    problems = [f"{name}: only in one run" for name in sorted(mine.keys() ^ theirs.keys())]
    compared = 0
    for name in sorted(mine.keys() & theirs.keys()):
        x, y = mine[name], theirs[name]
        if x.shape != y.shape:
            problems.append(f"{name}: {len(x)} values vs {len(y)}")
            continue
        compared += len(x)
        same = (x.view(np.uint64) == y.view(np.uint64)) | (np.isnan(x) & np.isnan(y))
        if not same.all():
            worst = float(np.nanmax(np.abs(x - y)))
            problems.append(f"{name}: {int((~same).sum())} of {len(x)} values differ (max |diff| {worst:.3g})")
    return compared, problems
