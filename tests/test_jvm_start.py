"""The local driver's faster start (curation.jvm_start): which options a session gets, and the class archive."""

from __future__ import annotations

import pytest

from curation import jvm_start


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder, the lean start on, and a record of the builders started instead of starting them."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(jvm_start.LEAN_ENV, raising=False)
    started: list = []
    monkeypatch.setattr(jvm_start, "start_building", started.append)
    return started


def test_a_local_session_gets_c1_and_starts_the_archive_once_missing(cache):
    archive = jvm_start.archive_path()
    assert archive.parent == jvm_start.cache_dir() and archive.name.endswith(".jsa")
    assert jvm_start.java_options({}) == [jvm_start.C1_ONLY]
    assert cache == [archive]


def test_a_committed_archive_is_used_and_a_truncated_one_is_not(cache):
    archive = jvm_start.archive_path()
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"x" * 1000)
    (archive.with_suffix(".size")).write_text("1000")
    options = jvm_start.java_options({})
    assert options[:2] == [jvm_start.C1_ONLY, f"-XX:SharedArchiveFile={archive}"] and not cache
    archive.write_bytes(b"x" * 999)  # HotSpot would die of SIGBUS mapping it: it is not given to the JVM
    assert jvm_start.java_options({}) == [jvm_start.C1_ONLY] and cache == [archive]


@pytest.mark.parametrize(
    "conf, env",
    [
        ({}, "0"),
        ({"spark.driver.extraJavaOptions": "-Xmx2g"}, None),
        ({"spark.jars": "/opt/extra.jar"}, None),
        ({"spark.jars.packages": "org.example:lib:1.0"}, None),
    ],
)
def test_turned_off_or_own_java_options_or_class_path_get_none(cache, monkeypatch, conf, env):
    if env is not None:
        monkeypatch.setenv(jvm_start.LEAN_ENV, env)
    assert jvm_start.java_options(conf) == [] and not cache


def test_a_local_session_starts_with_the_options_and_a_cluster_one_without(cache, monkeypatch):
    """What get_spark passes to the driver JVM, read from the builder before any JVM starts."""
    from pyspark.sql import SparkSession

    from curation import spark as spark_module

    seen: dict = {}

    class Builder:
        def appName(self, name):  # noqa: N802 - pyspark's names
            return self

        def master(self, master):
            seen["master"] = master
            return self

        def config(self, key, value):
            seen[key] = value
            return self

        def getOrCreate(self):  # noqa: N802
            raise RuntimeError("stop before a JVM")

    monkeypatch.setattr(SparkSession, "builder", Builder())
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    for master, lean in (("local[2]", True), ("spark://127.0.0.1:7077", False)):
        seen.clear()
        with pytest.raises(RuntimeError, match="before a JVM"):
            spark_module.get_spark(master)
        options = seen["spark.driver.extraJavaOptions"]
        assert options.startswith("-Dlog4j2.configurationFile=file:")
        assert (jvm_start.C1_ONLY in options) is lean
    seen.clear()
    with pytest.raises(RuntimeError):
        spark_module.get_spark("local[2]", conf={"spark.driver.extraJavaOptions": "-Xmx1g"})
    assert seen["spark.driver.extraJavaOptions"] == "-Xmx1g"  # the caller's own options, untouched


def test_the_archive_is_made_checked_and_committed(tmp_path, monkeypatch):
    """A real archive of this Java and PySpark: made by one session, used by a second with -Xshare:on (which
    fails rather than run without it), then committed with its size."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    archive = jvm_start.archive_path()
    assert jvm_start.build_archive(archive)
    assert jvm_start.committed(archive) and archive.stat().st_size > 10_000_000
    assert sorted(p.name for p in archive.parent.iterdir()) == sorted([archive.name, archive.with_suffix(".size").name])
    with open(archive, "r+b") as fh:
        fh.truncate(archive.stat().st_size // 2)
    assert not jvm_start.committed(archive)
