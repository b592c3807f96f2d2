"""Creating the Spark session: local mode by default, any master URL unchanged."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MASTER = "local[*]"
LOG_CONFIG = Path(__file__).parent / "conf" / "log4j2.properties"

_DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.python.worker.reuse": "true",
    "spark.log.level": "ERROR",
    # One split is one task: don't let AQE merge or re-split the ingest plan's partitions.
    "spark.sql.adaptive.enabled": "false",
}


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    from curation.errors import ConfigError

    conf: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--conf expects KEY=VALUE, got {pair!r}")
        conf[key.strip()] = value.strip()
    return conf


def under_spark_submit() -> bool:
    """True when this driver was launched by spark-submit (its JVM is already running)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(master: str | None = None, app_name: str = "curation", conf: dict[str, str] | None = None):
    """A SparkSession whose Python workers use this interpreter (so they see the installed package)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from curation.storage import STORAGE_OPTIONS_ENV

    conf = dict(conf or {})
    if os.environ.get(STORAGE_OPTIONS_ENV):  # the file's path only: executors read it where they open a URL
        conf.setdefault(f"spark.executorEnv.{STORAGE_OPTIONS_ENV}", os.environ[STORAGE_OPTIONS_ENV])
    builder = SparkSession.builder.appName(app_name)
    if master or not under_spark_submit():
        # Under spark-submit the master (and the driver's JVM options) come from its command line.
        resolved = master or conf.get("spark.master") or os.environ.get("CURATION_SPARK_MASTER", DEFAULT_MASTER)
        if resolved.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode never needs another interface
        # A local driver starts faster with C1 only and a class archive (curation.jvm_start); not when the
        # caller set the driver's Java options or class path itself.
        from curation.jvm_start import java_options

        lean = java_options(conf) if resolved.startswith("local") else []
        conf.setdefault(
            "spark.driver.extraJavaOptions", " ".join([f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}", *lean])
        )
        builder = builder.master(resolved)
    for key, value in {**_DEFAULT_CONF, **conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(conf.get("spark.log.level", "ERROR"))
    return spark
