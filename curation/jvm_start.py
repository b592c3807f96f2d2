"""A faster start for the local Spark driver's JVM: C1-only JIT and a class-data-sharing archive.

A local job on a few cores spends seconds before its first task: the JVM loads and verifies some ten
thousand classes of Spark, and its C2 compiler competes with the job for the cores. Two standard HotSpot
features (Java 13+) remove most of that, for local masters only (a cluster's executors are not touched):

- ``-XX:TieredStopAtLevel=1``: methods are compiled by C1 only. On 2 cores a JVM-heavy Spark SQL job ran
  faster with it, not slower (docs/results.md, cold start), because C2 competed with it for the cores.
- A dynamic class-data-sharing archive (``-XX:SharedArchiveFile``) of the classes a Spark session loads, made
  once per Java and PySpark install by a separate JVM (``-XX:ArchiveClassesAtExit``) and kept in
  ``$XDG_CACHE_HOME/curation/jvm`` (default ``~/.cache``). The first local session finds none and starts a
  detached process that makes it, in the background; every later session maps it instead of loading classes.
  An archive made by another Java or another class path is refused by the JVM, which then loads classes as
  usual; the archive's name holds a digest of the Java binary and of the PySpark install (its folder and
  jars), so each environment makes its own. A damaged archive is not refused: HotSpot dies of SIGBUS on a
  truncated one. So the maker first starts a session on the new archive with ``-Xshare:on`` (which fails
  rather than runs without it), and only then commits it, with its size in a ``.size`` file beside it; a
  session uses an archive only when that size matches.

``CURATION_LEAN_JVM=0`` turns both off; a session given its own ``spark.driver.extraJavaOptions`` or extra
jars gets neither.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LEAN_ENV = "CURATION_LEAN_JVM"
C1_ONLY = "-XX:TieredStopAtLevel=1"
# The JVM warns when it cannot use an archive (another JVM or class path): it then runs as without one.
QUIET_ARCHIVE = "-Xlog:cds=off,cds+dynamic=off"
# Settings that change the driver's class path: an archive made without them would not match.
CLASS_PATH_SETTINGS = ("spark.jars", "spark.jars.packages", "spark.driver.extraClassPath", "spark.jars.ivy")
BUILD_TIMEOUT_S = 300
STALE_LOCK_S = 600


def enabled() -> bool:
    return os.environ.get(LEAN_ENV, "1").strip() not in ("0", "false", "no")


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "curation" / "jvm"


def _java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return os.path.realpath(java) if java and os.path.exists(java) else None


def archive_path() -> Path | None:
    """Where the archive of this Java and PySpark install lives (whether or not it exists yet); None when no
    Java is found."""
    import pyspark

    java = _java_binary()
    if java is None:
        return None
    stat = os.stat(java)
    jar_dir = Path(pyspark.__file__).resolve().parent / "jars"  # the class path names the jars by full path
    jars = sorted(p.name for p in jar_dir.glob("*.jar"))
    key = "\n".join([java, str(stat.st_size), str(stat.st_mtime_ns), str(jar_dir), sys.version, *jars])
    return cache_dir() / f"spark-{pyspark.__version__}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"


def java_options(conf: dict[str, str]) -> list[str]:
    """The options a local driver JVM gets (empty when turned off or when ``conf`` sets its own); starts making
    the archive in the background when there is none yet."""
    if not enabled() or "spark.driver.extraJavaOptions" in conf or any(k in conf for k in CLASS_PATH_SETTINGS):
        return []
    options = [C1_ONLY]
    archive = archive_path()
    if archive is not None and committed(archive):
        options += [f"-XX:SharedArchiveFile={archive}", QUIET_ARCHIVE]
    elif archive is not None:
        start_building(archive)
    return options


def _size_file(archive: Path) -> Path:
    return archive.with_suffix(".size")


def committed(archive: Path) -> bool:
    """The archive is there, was checked by a session that used it, and has the size it had then."""
    try:
        return archive.stat().st_size == int(_size_file(archive).read_text())
    except (OSError, ValueError):
        return False


def start_building(archive: Path) -> None:
    """A detached process that makes ``archive``, unless one is already at it (a lock file younger than
    ``STALE_LOCK_S``). Nothing waits for it; if it fails, sessions run without an archive and try again
    after the lock has gone stale."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    lock = archive.with_suffix(".building")
    try:
        if lock.exists() and time.time() - lock.stat().st_mtime < STALE_LOCK_S:
            return
        lock.write_text(str(os.getpid()))
    except OSError:
        return  # a read-only cache: run without an archive
    subprocess.Popen(  # noqa: S603 - our own module, with this interpreter
        [sys.executable, "-m", "curation.jvm_start", str(archive)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=archive.parent,  # nothing the session might write lands in the caller's folder
        env={**os.environ, LEAN_ENV: "0"},  # the builder's own session must not start another builder
    )


def build_archive(archive: Path, timeout_s: float = BUILD_TIMEOUT_S) -> bool:
    """Make ``archive``: a JVM started with ``-XX:ArchiveClassesAtExit`` runs a Spark session through a Python
    job and a SQL job, and writes the classes it loaded when it exits. The file, under a temporary name, is
    then used by a second session with ``-Xshare:on``; only if that session runs is it renamed into place and
    its size committed beside it. True when it was made."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.tmp")
    try:
        made = _run_session(f"-XX:ArchiveClassesAtExit={partial}", timeout_s)
        if not made or not partial.is_file() or partial.stat().st_size == 0:
            return False
        if not _run_session(f"-XX:SharedArchiveFile={partial} -Xshare:on", timeout_s):
            return False
        size = partial.stat().st_size
        partial.replace(archive)
        size_tmp = _size_file(partial)
        size_tmp.write_text(str(size))
        size_tmp.replace(_size_file(archive))
        return True
    finally:
        partial.unlink(missing_ok=True)


def _run_session(java_options: str, timeout_s: float) -> bool:
    """A local session with these extra driver options through a Python job and a SQL job, in a child process
    that waits for its driver JVM to exit; True when all of it succeeded."""
    code = (
        "import sys\n"
        "from curation.spark import get_spark\n"
        "conf = {'spark.driver.extraJavaOptions': sys.argv[1]}\n"
        "spark = get_spark('local[1]', app_name='curation-jvm-archive', conf=conf)\n"
        "spark.sparkContext.parallelize(range(4), 2).map(lambda x: x + 1).count()\n"
        "spark.range(100).selectExpr('id % 7 AS k').groupBy('k').count().toPandas()\n"
        "gateway = spark.sparkContext._gateway\n"
        "spark.stop()\n"
        "gateway.shutdown()\n"
        "gateway.proc.stdin.close()\n"  # the driver JVM exits when its stdin closes; the archive is written then
        "gateway.proc.wait(timeout=120)\n"
    )
    options = f"{_log_option()} {C1_ONLY} {java_options}"
    env = {**os.environ, LEAN_ENV: "0"}  # this session must not start another builder
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", code, options], env=env, timeout=timeout_s, capture_output=True, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _log_option() -> str:
    from curation.spark import LOG_CONFIG

    return f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}"


def main(argv: list[str]) -> int:
    archive = Path(argv[0])
    try:
        return 0 if build_archive(archive) else 1
    finally:
        archive.with_suffix(".building").unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
