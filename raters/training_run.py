"""What every rater's training command does the same way: hold documents out whole, and leave the same record
of a finished training (``MODEL_DIR/metrics.json``, the model saved with its held-out metrics and MLflow run
id, and the model's files as the run's artifacts). Which documents are held out is each rater's own rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"


def hold_out(texts: Sequence[str], held: set[int]) -> tuple[list[str], list[str]]:
    """(rest, held-out): the texts at the indices in ``held`` held out whole; both keep the texts' order."""
    return [t for i, t in enumerate(texts) if i not in held], [t for i, t in enumerate(texts) if i in held]


def save_trained(run, out: Path, model, metrics: dict[str, Any], extra: dict[str, Any], files: Sequence[str]) -> None:
    """``metrics.json``, then the model (``model.save``) with ``extra``, its held-out metrics and the run's id,
    then those of ``files`` that the save wrote, logged to the run."""
    from curation.corpus import write_json_atomic

    write_json_atomic(out / METRICS_FILE, metrics)
    model.save(out, {**extra, "heldout": metrics, "mlflow_run_id": run.run_id})
    for name in files:
        if (out / name).is_file():
            run.log_artifact(out / name)
