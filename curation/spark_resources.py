"""Stage-level resources: a stage whose tasks need a GPU asks Spark for it through a task resource profile
(Spark's stage-level scheduling), so only those tasks hold a share of a GPU. Setting
``spark.task.resource.gpu.amount`` for the whole application instead makes every task of every stage (ingest,
signals, dedup) wait for a GPU share, which caps a CPU stage at a few tasks per GPU.

The executors must still own the resource (``spark.executor.resource.gpu.amount`` and its
``discoveryScript``); each task then gets ``amount`` of one, and ``TaskContext.resources()["gpu"]`` names the
device it may use. In local mode Spark cannot schedule per stage: there is no profile, and a model on a GPU
uses the machine's (``raters.saved_model_scores.task_device``).
"""

from __future__ import annotations

from collections.abc import Mapping

from curation.errors import ConfigError


def task_profile(sc, resources: Mapping[str, float]):
    """The task resource profile asking for ``resources`` per task (``{"gpu": 0.25}``), or None when there is
    nothing to ask or Spark runs in local mode. A cluster whose executors lack a resource, or that allocates
    executors dynamically on a standalone master (where Spark supports task profiles only without it), fails
    here, before any work."""
    wanted = {name: float(amount) for name, amount in resources.items() if amount}
    if not wanted or sc.master.startswith("local"):
        return None
    conf = sc.getConf()
    for name, amount in wanted.items():
        if amount <= 0 or (amount > 1 and not amount.is_integer()):
            raise ConfigError(f"{name} per task must be a fraction of one (0 < x <= 1) or a whole number, not {amount}")
        if not conf.get(f"spark.executor.resource.{name}.amount"):
            raise ConfigError(
                f"the stage asks each task for {amount:g} {name}, but the executors have none: set "
                f"spark.executor.resource.{name}.amount (and spark.executor.resource.{name}.discoveryScript) "
                "in the Spark settings"
            )
    if sc.master.startswith("spark://") and conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        raise ConfigError("stage-level GPU requests on a standalone cluster need spark.dynamicAllocation.enabled=false")
    from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

    requests = TaskResourceRequests().cpus(int(conf.get("spark.task.cpus", "1")))
    for name, amount in wanted.items():
        requests.resource(name, amount)
    return ResourceProfileBuilder().require(requests).build
