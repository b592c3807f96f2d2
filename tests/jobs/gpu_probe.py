"""A producer that records which GPU each Spark task was given (``TaskContext.resources()``), for the test of
stage-level GPU requests; and the script that runs it on a cluster (``python -m tests.jobs.gpu_probe``)."""

from __future__ import annotations

import json
import sys

from curation.attribute_stage import AttributeProducer


class GpuProbe(AttributeProducer):
    name = "gpu_probe"
    version = "1"

    def __init__(self, gpus_per_task: float = 0.0):
        self.gpus_per_task = gpus_per_task

    def output_schema(self):
        import pyarrow as pa

        return pa.schema([pa.field("gpu", pa.string())])

    def compute(self, batch):
        from pyspark import TaskContext

        gpu = TaskContext.get().resources().get("gpu")
        return {"gpu": [",".join(gpu.addresses) if gpu else ""] * batch.num_rows}

    def config(self):
        return {"gpus_per_task": self.gpus_per_task}

    def task_resources(self):
        return {"gpu": self.gpus_per_task} if self.gpus_per_task else {}


def main() -> None:
    """``CORPUS OUT MASTER CONF_JSON GPUS``: the probe as an attribute stage; prints the GPU of every row."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from curation.attribute_stage import run_attribute_stage
    from tests.jobs.gpu_probe import GpuProbe as Probe  # by its module's name, not __main__: workers import it

    corpus, out, master, conf, gpus = sys.argv[1:6]
    run_attribute_stage(corpus, Probe(float(gpus)), out, master=master, spark_conf=json.loads(conf), tracking=False)

    print(
        json.dumps(
            sorted(g for p in sorted(Path(out).glob("part-*.parquet")) for g in pq.read_table(p)["gpu"].to_pylist())
        )
    )


if __name__ == "__main__":
    main()
