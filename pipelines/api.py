"""The Python API of ``curate run``: a whole pipeline from its YAML config.

from pipelines.api import run

result = run("pipelines/laptop.yaml", workdir="runs/laptop")
print(result.counts["ran"], result.counts["final_corpus"], result.run_id)
"""

from __future__ import annotations

from pathlib import Path

from curation.api import StageResult


def run(
    config: str | Path, *, workdir: str | Path | None = None, from_stage: str | None = None, tracking: bool = True
) -> StageResult:
    """Run the stages ``config`` names, skipping those already done with the same settings and inputs and
    resuming an interrupted one (as ``curate run``). Counts: the stages that ``ran`` this time, each
    stage's status, and the ``final_corpus``; ``run_id`` is the pipeline's parent MLflow run."""
    from curation.storage import is_remote
    from pipelines.config import load_pipeline_config
    from pipelines.runner import run_pipeline

    config_path = str(config) if is_remote(str(config)) else Path(config).resolve()
    result = run_pipeline(load_pipeline_config(config_path), config_path, workdir=workdir or None,
                          from_stage=from_stage, tracking=tracking)  # fmt: skip
    return StageResult(
        path=result.workdir,
        counts={
            "ran": list(result.ran),
            "stages": {stage["name"]: stage["status"] for stage in result.state["stages"]},
            "final_corpus": str(result.final_corpus),
        },
        run_id=result.state.get("mlflow_run_id"),
        details=result,
    )
