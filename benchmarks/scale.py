"""Scaling: ingest -> signals -> DataRater scoring on a Spark standalone cluster as the input grows (1×, 4×, 16×
a unit of the shared web sample) and with 1 vs 2 workers. Does the cost grow linearly with the input, and does
the memory of a worker stay bounded?

The sample (``--files``; read-only in ../shared/data/web, never copied into the repository)
-----------------------------------------------------------------------------------------
The shared web inputs that ``curate ingest`` reads: ``c4-en-sample-1000.jsonl.gz`` (1,000 C4 pages, JSONL),
``trafilatura-eval-pages.warc.gz`` (923 HTML pages, WARC), ``cc-sample-a.warc.gz`` and ``cc-sample-b.warc.gz``
(Common Crawl WARC: request/response/metadata/resource records) and ``cc-main-2016-50-sample.warc.wet.gz``
(Common Crawl WET, one gzip stream): 2,031 records, ~1,980 documents, ~8 MB of extracted text. Left out:
``cc-main-2017-30-sample.truncated.warc.wet.gz``, a deliberately cut file (its copies would be the same cut,
which measures error handling, not throughput) and ``trafilatura-eval-pages.expected.json.gz`` (extraction
labels, not an input).

The unit, 1× (``--unit``, default 1/16)
--------------------------------------
1× is a seeded ``--unit`` share of every file's records (``round(unit × n)``, at least one; chosen by
``random.Random(f"{seed}:{file}:unit")``, kept in file order), so every factor has the sample's mix of formats
and texts. The default 1/16 (~127 records) makes 16× as many records as the whole sample. Why not the whole
sample as 1×: signals and scoring cost ~0.07 CPU s per document each on this machine's cores, so 1, 4, 16 times
the whole sample with 1 and 2 workers is ~2.5-3 hours on 2 cores; with 1/16 the default run takes about
20 minutes (measured parts: see the results' "whole benchmark" line). ``--unit 1`` runs the whole sample as 1×.

Replication (``--factors``, ``--seed``)
-------------------------------------
Factor ``f`` = ``ceil(f)`` copies of the unit of every sample file, copy ``r`` (``r = 0, 1, ...``) in its own
folder ``inputs/rep-RRR/`` under the file's own name (so the ``source`` column is the same in every copy). Copy
``r`` of a file holds its records in a seeded order (``random.Random(f"{seed}:{file}:{r}").shuffle``), every record
rewritten the same way, copy 0 included (so ``k×`` is exactly ``k`` alike copies):

* JSONL (C4 pages have no id, so ingest would id them by a hash of url+text): record ``i`` (0-based line of the
  file) gets ``"id": "<stem>:<i>#<r>"`` as its first field and ``?rep=<r>`` (``&rep=<r>`` when the URL has a query;
  before any ``#fragment``) appended to its ``url``; text, timestamp and the other fields are unchanged.
* WARC and WET: every record keeps its bytes except WARC header lines: ``WARC-Record-ID`` (the id ingest gives
  the document) and the ids it refers to (``WARC-Concurrent-To``, ``WARC-Refers-To``, ``WARC-Warcinfo-ID``)
  become ``urn:uuid:<uuid5(NAMESPACE_URL, "<old uuid>#<r>")>``, and ``WARC-Target-URI`` gets ``?rep=<r>`` as
  above. HTTP headers and payloads are untouched (``Content-Length`` and block digests do not cover WARC
  headers). The gzip layout of the original is kept: one gzip member per record for the WARC files, ONE gzip
  stream for the WET (the quirk the reader handles); level 6, mtime 0.

Without distinct ids ingest keeps the first record of an id and rejects the rest as ``duplicate_id``; with
them every copy is new documents with the same text distribution (the table checks documents = f × the 1×
count). A fractional factor (``0.05`` for a smoke run) makes the last copy partial: the first
``round(fraction × n)`` records of copy ``floor(f)``'s order. Copies are written once, up to the largest
factor, and shared by the smaller ones (copy ``r`` does not depend on the factor); writing them is not timed.

What runs (``--workers 1,2``; every factor with every worker count, smallest first; or ``--cases``)
--------------------------------------------------------------------------------------------------
``--cases 1x1,1x2,4x1,4x2,16x1`` names the (factor, W) cases and their order instead (to compare 1 and 2 workers
on the smaller sizes only, when the largest one with both would not fit the time at hand). The JSON and the
Markdown are written after every case; until the last one they say "Partial" (``complete: false``). For each
(factor, W): a fresh ``jobs.local_cluster.LocalCluster(W, cores=1, memory=--executor-memory)`` (a
real standalone master + W workers on 127.0.0.1), then, each in its own process, on ``--master spark://...``:

1. *start-up probe*: ``get_spark`` on the cluster + one trivial job on W partitions (starts the executors and
   their Python workers) — the fixed cost every stage below pays once, measured, not timed into a stage;
2. ``curate ingest INPUT_DIRS --out corpus --shards S --no-tracking`` (CLI defaults otherwise: resiliparse,
   fastText language ID on, 16 MiB splits);
3. ``curate signals corpus --out attributes/signals --no-tracking`` (4 datatrove filters + 11 numeric signals);
4. ``curate datarater score corpus --model MODEL --out attributes/datarater --device cpu --no-tracking``.

``--stages`` runs a subset (ingest always; ``ingest,score`` to follow scoring without signals' hour at 16×).

``--conf spark.executor.memory=--executor-memory`` is passed to every stage. The DataRater model is trained
once before any measurement (``curate datarater train`` on the C4 sample, ``--train-steps`` outer steps,
population 1, the *default* rater architecture: scoring cost depends on the architecture, not on how well it
was trained) and is the same for every run. Tracking (MLflow) is off: it is not what scales.

Timings and throughput
----------------------
``s`` per stage = wall seconds of the stage's whole process (interpreter, imports, JVM + Spark application
start, executors on the cluster, the work, exit). ``total`` = the stages run (``--stages``: all three by default;
``ingest,score`` leaves signals out when only scoring is in question). ``net`` = wall − the start-up
probe (per stage). Documents: ingest = documents written (records read are in the JSON); signals and scoring =
the corpus's documents. MB (10⁶ bytes): ingest = input bytes uncompressed (gzip bytes in the JSON); signals and
scoring = UTF-8 text bytes of the corpus.

Scaling fits (per worker count, per stage and total; x = uncompressed input bytes)
----------------------------------------------------------------------------------
* exponent: least-squares slope of log(seconds) on log(x) over all factors (1 = linear). A fixed start-up cost
  biases it below 1 at small sizes, so it is also given on ``net`` seconds, and between the two largest
  factors (``local``: log(t₂/t₁)/log(x₂/x₁)), which is what the growth of large inputs looks like;
* affine: seconds = a + b·x by least squares: ``a`` the fixed overhead (s), ``b`` the marginal cost (s per
  input MB), R² of the fit — the honest view when the overhead is not negligible; the same on the executors'
  CPU seconds (marginal CPU s per input MB).
* speed-up: seconds with 1 worker ÷ seconds with 2, per factor and stage.

CPU seconds: user + system time of the executors (every executor JVM and its child processes, all workers)
and of the driver (the CLI process and its JVM), per stage, from the same sampling as the memory (below). They
do not count waiting, so they show the work's growth even when the wall clock is dominated by start-up or by
other load on the machine; the fits are also given on them.

Memory (sampled every ``--sample-interval`` s from /proc by a background thread)
-------------------------------------------------------------------------------
Per executor: the executor JVM (``CoarseGrainedExecutorBackend``, a child of a worker's ``Worker`` daemon) and
its children (pyspark's daemon and Python workers, and anything they start); an executor belongs to the stage
that was running when it was first seen (each stage is its own Spark application with its own executors; the
last one's may still be exiting). Reported: the peak of the JVM's RSS, of its children's summed RSS, and of
their sum at one moment, per stage and over the run; and each process's own peak (``VmHWM``, the kernel's
high-water mark, which sampling cannot miss). The driver: the CLI's process and its children (its JVM). RSS
counts pages a forked Python worker still shares with pyspark's daemon once per process (an over-estimate of
a few tens of MB). The JVM heap grows lazily up to ``-Xmx`` (= ``--executor-memory``) before the GC has to
work, so a JVM's RSS rising with the input up to that cap is not a leak: "bounded" means it stops below heap +
off-heap, independent of the input.

The machine of the reference run has 2 cores: with 2 workers the driver (and the sampler) compete with two
busy executors, so the speed-up from 1 to 2 workers is below 2 by construction; the Markdown says so.

Usage::

    python benchmarks/scale.py                            # the full default run: 1,4,16 × 1,2 workers, ~20 min
    python benchmarks/scale.py --factors 0.5,1 --workers 1,2 --out-dir /tmp/scale-smoke   # a smoke run
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # jobs.local_cluster of this checkout

from common import (  # noqa: E402
    RESULTS,
    ROOT,
    SHARED_DATA,
    child_env,
    format_versions,
    load_average,
    machine_info,
    markdown_table,
    package_versions,
    write_results,
)

DATA = SHARED_DATA / "web"
MB = 1_000_000
SAMPLE = (
    "c4-en-sample-1000.jsonl.gz",
    "trafilatura-eval-pages.warc.gz",
    "cc-sample-a.warc.gz",
    "cc-sample-b.warc.gz",
    "cc-main-2016-50-sample.warc.wet.gz",
)
STAGES = ("ingest", "signals", "score")
UNIT = 1 / 16
# DataRater training for the model every run scores with: few, cheap outer steps; the rater's own
# architecture (seq_len, d_model, layers, heads) stays at DataRaterConfig's defaults.
TRAIN_SETTINGS = {"population": 1, "inner_batch": 4, "outer_batch": 4, "seed": 0}


# ----------------------------------------------------------------------------- the sample and its copies


@dataclass
class SourceFile:
    """One sample file, parsed once: JSONL records (dicts), or WARC records (their uncompressed bytes)."""

    path: Path
    kind: str  # "jsonl" or "warc"
    layout: str  # "members" (one gzip member per record) or "stream" (one gzip stream for the file)
    records: list = field(repr=False)
    numbers: list[int] = field(default_factory=list, repr=False)  # each record's position in the file

    def __post_init__(self) -> None:
        self.numbers = self.numbers or list(range(len(self.records)))

    @property
    def name(self) -> str:
        return self.path.name

    def unit(self, fraction: float, seed: int) -> SourceFile:
        """A seeded ``fraction`` of the records (at least one), in file order: the ``1×`` of ``--unit``."""
        if fraction >= 1:
            return self
        chosen = list(range(len(self.records)))
        random.Random(f"{seed}:{self.name}:unit").shuffle(chosen)
        chosen = sorted(chosen[: max(1, round(fraction * len(chosen)))])
        return SourceFile(self.path, self.kind, self.layout, [self.records[i] for i in chosen], chosen)


def load_source(path: Path) -> SourceFile:
    from curation.readers.streams import gzip_has_many_members

    layout = "members" if gzip_has_many_members(str(path)) else "stream"
    if ".jsonl" in path.name:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        if not all(isinstance(r, dict) and "id" not in r for r in records):
            raise SystemExit(f"{path}: every line must be a JSON object without an id")
        return SourceFile(path, "jsonl", "stream", records)
    from warcio.archiveiterator import ArchiveIterator

    raw = gzip.decompress(path.read_bytes())  # all members; a cut file raises here
    iterator = ArchiveIterator(io.BytesIO(raw))
    offsets = [iterator.get_record_offset() for _ in iterator]
    if not offsets or offsets[0] != 0:
        raise SystemExit(f"{path}: no WARC records, or bytes before the first one")
    bounds = [*offsets, len(raw)]
    records = [raw[start:stop] for start, stop in zip(bounds, bounds[1:], strict=False)]
    if not all(r.startswith(b"WARC/") for r in records):
        raise SystemExit(f"{path}: a record span does not start with WARC/; cannot replicate record by record")
    return SourceFile(path, "warc", layout, records)


def with_rep(url: str, r: int) -> str:
    """``url`` with ``rep=r`` added to its query (before any fragment)."""
    base, hash_sign, fragment = url.partition("#")
    return f"{base}{'&' if '?' in base else '?'}rep={r}{hash_sign}{fragment}"


_UUID_REF = re.compile(rb"<urn:uuid:([^>]*)>")
_ID_HEADERS = {b"warc-record-id", b"warc-concurrent-to", b"warc-refers-to", b"warc-warcinfo-id"}


def derived_uuid(old: str, r: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{old}#{r}"))


def rewrite_warc_record(record: bytes, r: int) -> bytes:
    """The record with copy ``r``'s ids and target URI; everything after the WARC header block is unchanged."""
    end = record.index(b"\r\n\r\n")
    lines = record[:end].split(b"\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        key = name.strip().lower()
        if sep and key in _ID_HEADERS:
            value = _UUID_REF.sub(lambda m: b"<urn:uuid:" + derived_uuid(m.group(1).decode(), r).encode() + b">", value)
        elif sep and key == b"warc-target-uri":
            uri = value.strip().decode("utf-8", "surrogateescape")
            bracketed = uri.startswith("<") and uri.endswith(">")  # WARC/1.0 writers sometimes bracket it
            uri = with_rep(uri[1:-1] if bracketed else uri, r)
            value = b" " + (f"<{uri}>" if bracketed else uri).encode("utf-8", "surrogateescape")
        out.append(name + sep + value)
    return b"\r\n".join(out) + record[end:]


def copy_order(source: SourceFile, r: int, seed: int) -> list[int]:
    order = list(range(len(source.records)))
    random.Random(f"{seed}:{source.name}:{r}").shuffle(order)
    return order


def write_copy(source: SourceFile, r: int, fraction: float, seed: int, dest: Path) -> dict:
    """Copy ``r`` of ``source`` (the first ``round(fraction × n)`` records of its order) as ``dest``."""
    order = copy_order(source, r, seed)
    if fraction < 1:
        order = order[: round(fraction * len(order))]
    if not order:
        return {"records": 0, "bytes": 0, "raw_bytes": 0}  # no file: an empty WARC would be an input error
    if source.kind == "jsonl":
        stem = source.name.split(".")[0]
        lines = []
        for i in order:
            record = {"id": f"{stem}:{source.numbers[i]}#{r}", **source.records[i]}
            if record.get("url"):
                record["url"] = with_rep(record["url"], r)
            lines.append(json.dumps(record) + "\n")
        raw = "".join(lines).encode("utf-8")
        data = gzip.compress(raw, compresslevel=6, mtime=0)
        raw_bytes = len(raw)
    else:
        records = [rewrite_warc_record(source.records[i], r) for i in order]
        raw_bytes = sum(len(rec) for rec in records)
        if source.layout == "members":
            data = b"".join(gzip.compress(rec, compresslevel=6, mtime=0) for rec in records)
        else:
            data = gzip.compress(b"".join(records), compresslevel=6, mtime=0)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return {"records": len(order), "bytes": len(data), "raw_bytes": raw_bytes}


class Replicas:
    """Copies of the sample under ``root``, written on first use and shared by every factor."""

    def __init__(self, sources: list[SourceFile], root: Path, seed: int):
        self.sources, self.root, self.seed = sources, root, seed
        self.copies: dict[str, dict] = {}  # folder name -> {"records", "bytes", "raw_bytes", "files"}
        self.seconds = 0.0

    def folder(self, r: int, fraction: float) -> Path:
        name = f"rep-{r:03d}" if fraction >= 1 else f"rep-{r:03d}-part-{fraction:.4f}"
        path = self.root / name
        if name not in self.copies:
            started = time.perf_counter()
            totals = {"records": 0, "bytes": 0, "raw_bytes": 0, "files": 0}
            for source in self.sources:
                done = write_copy(source, r, fraction, self.seed, path / source.name)
                for key in ("records", "bytes", "raw_bytes"):
                    totals[key] += done[key]
                totals["files"] += 1 if done["records"] else 0
            self.copies[name] = totals
            self.seconds += time.perf_counter() - started
        return path

    def for_factor(self, factor: float) -> tuple[list[Path], dict]:
        whole, fraction = int(math.floor(factor + 1e-9)), factor - math.floor(factor + 1e-9)
        folders = [self.folder(r, 1.0) for r in range(whole)]
        if fraction > 1e-9:
            folders.append(self.folder(whole, fraction))
        totals = {"records": 0, "bytes": 0, "raw_bytes": 0, "files": 0}
        for folder in folders:
            for key in totals:
                totals[key] += self.copies[folder.name][key]
        return folders, totals


# ----------------------------------------------------------------------------- memory sampling

TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far: user + system) of every process now."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        close = data.rfind(b")")
        comm = data[data.find(b"(") + 1 : close].decode(errors="replace")
        fields = data[close + 2 :].split()  # from field 3 (state) on: ppid is [1], utime [11], stime [12]
        table[int(entry.name)] = (int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def _memory(pid: int) -> tuple[int, int] | None:
    """(RSS, peak RSS) in bytes, from /proc/PID/status; None when the process is gone."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        return None
    return None if rss is None else (rss, hwm or rss)


def _descendants(root: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class MemorySampler(threading.Thread):
    """Every ``interval`` s: RSS and CPU time of each executor (its JVM and the JVM's child processes) under each
    worker's daemon, and of the driver's process tree.

    An executor belongs to the stage that was running when it was first seen (a stage's application starts
    its own executors; the previous one's may still be exiting). ``peaks[stage][who]`` (``who``: ``worker-i``
    or ``driver``) holds the peak RSS of the JVM (``jvm``), of its children summed (``python``) and of both at
    one moment (``total``), the largest per-process ``VmHWM`` of each kind, and CPU seconds (``cpu_s``: the
    last value seen of every process, summed; a process's last < ``interval`` s before it exits is missed)."""

    def __init__(self, workers: dict[str, int], interval: float):
        super().__init__(daemon=True)
        self.workers = workers  # name -> pid of its Worker daemon
        self.interval = interval
        self.stage = "startup"
        self.driver: int | None = None
        self.peaks: dict[str, dict[str, dict[str, float]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(float))
        )
        self.executors: dict[int, str] = {}  # executor JVM pid -> the stage it belongs to
        self.cpu: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)  # (stage, who) -> pid -> CPU s
        self.samples = 0
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()

    def _group(self, stage: str, who: str, jvms: list[int], others: list[int], table: dict) -> None:
        peak, cpu = self.peaks[stage][who], self.cpu[(stage, who)]
        sums = {}
        for label, pids in (("jvm", jvms), ("python", others)):
            total = 0
            for pid in pids:
                memory = _memory(pid)
                if memory is None:
                    continue
                total += memory[0]
                cpu[pid] = table[pid][2]
                peak[f"{label}_process_hwm"] = max(peak[f"{label}_process_hwm"], memory[1] / MB)
            sums[label] = total / MB
            peak[label] = max(peak[label], sums[label])
        peak["total"] = max(peak["total"], sums["jvm"] + sums["python"])

    def sample(self) -> None:
        with self._lock:
            table = _process_table()
            children: dict[int, list[int]] = defaultdict(list)
            for pid, (ppid, _, _) in table.items():
                children[ppid].append(pid)
            for name, worker_pid in self.workers.items():
                for jvm in children.get(worker_pid, []):
                    if table[jvm][1] != "java":
                        continue
                    stage = self.executors.setdefault(jvm, self.stage)
                    below = [p for p in _descendants(jvm, children) if table[p][1] != "java"]
                    self._group(stage, name, [jvm], below, table)
            driver = self.driver
            if driver is not None and driver in table:
                tree = [driver, *_descendants(driver, children)]
                jvms = [p for p in tree if table[p][1] == "java"]
                self._group(self.stage, "driver", jvms, [p for p in tree if table[p][1] != "java"], table)
            self.samples += 1

    def report(self) -> dict:
        out: dict = {}
        for stage, whos in self.peaks.items():
            out[stage] = {who: {k: round(v, 1) for k, v in peak.items()} for who, peak in whos.items()}
            for who in whos:
                out[stage][who]["cpu_s"] = round(sum(self.cpu[(stage, who)].values()), 2)
            out[stage]["executors_seen"] = sum(1 for s in self.executors.values() if s == stage)
        return out


# ----------------------------------------------------------------------------- running the stages


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def run_logged(cmd: list[str], log: Path, sampler: MemorySampler | None = None, stage: str | None = None) -> float:
    """Run ``cmd`` (output to ``log``), tell the sampler its pid and stage; wall seconds. Exits on failure."""
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=stage_env(), cwd=ROOT)
    if sampler is not None:
        sampler.stage, sampler.driver = stage, process.pid
    code = process.wait()
    wall = time.perf_counter() - started
    if sampler is not None:
        sampler.sample()  # the last look at this stage before the next one starts
        sampler.driver = None
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{shlex.join(cmd)} failed ({code}); log: {log}\n{tail}")
    return wall


def stage_env() -> dict[str, str]:
    env = child_env()
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


PROBE = """
from curation.spark import get_spark
spark = get_spark({master!r}, "scale-startup-probe", {conf!r})
spark.sparkContext.parallelize(range({workers}), {workers}).map(lambda x: x).collect()
spark.stop()
"""


def train_model(out: Path, steps: int, log: Path) -> dict:
    settings = {**TRAIN_SETTINGS, "outer_steps": steps}
    config = out.parent / "datarater-settings.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()), encoding="utf-8")
    cmd = cli("datarater", "train", "--train", str(DATA / SAMPLE[0]), "--out", str(out), "--config", str(config))
    seconds = run_logged([*cmd, "--no-tracking"], log)
    from raters.datarater.checkpoint import RATER_CONFIG

    saved = json.loads((out / RATER_CONFIG).read_text(encoding="utf-8"))
    return {"train_s": round(seconds, 1), "settings": settings, "rater_model": saved.get("model")}


def run_case(factor: float, workers: int, folders: list[Path], args, model: Path, work: Path) -> dict:
    """One (factor, W): a fresh cluster, the start-up probe, then ingest, signals and scoring, each sampled."""
    from jobs.local_cluster import LocalCluster

    case = work / f"run-{factor:g}x-{workers}w"
    (case / "cluster").mkdir(parents=True)
    conf = {"spark.executor.memory": args.executor_memory}
    conf_args = [f"--conf=spark.executor.memory={args.executor_memory}"]
    cluster = LocalCluster(workers, cores=1, memory=args.executor_memory, log_dir=str(case / "cluster"))
    started = time.perf_counter()
    cluster.start()
    cluster_start = time.perf_counter() - started
    sampler = MemorySampler({f"worker-{i}": p.pid for i, p in enumerate(cluster.processes[1:])}, args.sample_interval)
    sampler.start()
    seconds: dict[str, float] = {}
    load_before = load_average()
    try:
        master = cluster.master_url
        probe = PROBE.format(master=master, conf=conf, workers=workers)
        seconds["startup_probe"] = run_logged([sys.executable, "-c", probe], case / "probe.log", sampler, "startup")
        corpus, attrs = case / "corpus", case / "attributes"
        common = ["--master", master, *conf_args, "--no-tracking"]
        commands = {
            "ingest": cli("ingest", *map(str, folders), "--out", str(corpus), "--shards", str(args.shards), *common),
            "signals": cli("signals", str(corpus), "--out", str(attrs / "signals"), *common),
            "score": cli("datarater", "score", str(corpus), "--model", str(model), "--out", str(attrs / "datarater"),
                         "--device", "cpu", *common),
        }  # fmt: skip
        commands = {stage: cmd for stage, cmd in commands.items() if stage in args.stages}
        for stage, cmd in commands.items():
            seconds[stage] = run_logged(cmd, case / f"{stage}.log", sampler, stage)
    finally:
        sampler.stop()
        cluster.stop()
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    attribute_rows = {
        name: json.loads((attrs / name / "manifest.json").read_text(encoding="utf-8")).get("rows")
        for stage, name in (("signals", "signals"), ("score", "datarater"))
        if stage in args.stages
    }
    result = {
        "factor": factor,
        "workers": workers,
        "cluster_start_s": round(cluster_start, 2),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "records_read": counts["records_read"],
        "documents": counts["documents"],
        "rejected": counts["rejected"],
        "input_errors": counts["input_errors"],
        "text_bytes": counts["bytes_out"],
        "shards": len(manifest["shards"]),
        "attribute_rows": attribute_rows,
        "memory_mb": sampler.report(),
        "memory_samples": sampler.samples,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "commands": {
            stage: shlex.join(["curate", *cmd[3:]]).replace(str(work), "WORK").replace(master, "spark://127.0.0.1:PORT")
            for stage, cmd in commands.items()
        },
    }
    if not args.keep_work:
        shutil.rmtree(case, ignore_errors=True)
    return result


# ----------------------------------------------------------------------------- fits


def cpu_seconds(row: dict, who: str, stages: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds per stage (and total) of the executors (all workers) or of the driver's process tree."""
    out = {}
    for stage in stages:
        entries = row["memory_mb"].get(stage, {})
        out[stage] = round(
            sum(
                e.get("cpu_s", 0.0)
                for name, e in entries.items()
                if isinstance(e, dict) and (name == "driver") == (who == "driver")
            ),
            2,
        )
    out["total"] = round(sum(out[k] for k in stages), 2)
    return out


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """(intercept, slope, R²) of y = a + b·x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return intercept, slope, (1 - ss_res / ss_tot) if ss_tot > 0 else 1.0


def scaling_fit(sizes_mb: list[float], seconds: list[float]) -> dict:
    """Exponent (log-log slope), local exponent (two largest sizes) and the affine fit seconds = a + b·MB."""
    if len(set(sizes_mb)) < 2:
        return {}
    a, b, r2 = least_squares(sizes_mb, seconds)
    out = {"fixed_s": round(a, 2), "s_per_mb": round(b, 4), "affine_r2": round(r2, 4)}
    if all(s > 0 for s in seconds):
        out["exponent"] = round(least_squares([math.log(x) for x in sizes_mb], [math.log(s) for s in seconds])[1], 3)
        (x1, t1), (x2, t2) = sorted(zip(sizes_mb, seconds, strict=True))[-2:]
        out["local_exponent"] = round(math.log(t2 / t1) / math.log(x2 / x1), 3)
    return out


# ----------------------------------------------------------------------------- main


def parse_list(text: str, kind) -> list:
    values = sorted({kind(v) for v in text.split(",") if v.strip()})
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive comma-separated numbers, got {text!r}")
    return values


def parse_stages(text: str) -> tuple[str, ...]:
    """``ingest,score`` -> the named stages in pipeline order; ingest is required (the others read its corpus)."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = names - set(STAGES)
    if unknown or "ingest" not in names:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ingest plus any of signals, score")
    return tuple(stage for stage in STAGES if stage in names)


def parse_cases(text: str) -> list[tuple[float, int]]:
    cases = []
    for item in (v.strip() for v in text.split(",")):
        factor, sep, workers = item.lower().partition("x")
        try:
            case = (float(factor), int(workers))
        except ValueError:
            case = None
        if not sep or case is None or case[0] <= 0 or case[1] <= 0:
            raise argparse.ArgumentTypeError(f"expected FACTORxWORKERS such as 16x1, got {item!r} in {text!r}")
        if case in cases:
            raise argparse.ArgumentTypeError(f"{item!r} is given twice in {text!r}")
        cases.append(case)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--factors",
        type=lambda t: parse_list(t, float),
        default=[1.0, 4.0, 16.0],
        help="input sizes as multiples of the unit (--unit) (default 1,4,16; fractions allowed)",
    )
    parser.add_argument(
        "--workers",
        type=lambda t: parse_list(t, int),
        default=[1, 2],
        help="worker counts of the standalone cluster, 1 core each (default 1,2)",
    )
    parser.add_argument(
        "--cases",
        type=parse_cases,
        help="explicit (factor, workers) cases as FACTORxWORKERS, run in the order given, e.g. 1x1,1x2,4x1,4x2,16x1 "
        "(default: every --factors with every --workers, smallest factor first)",
    )
    parser.add_argument(
        "--files", default=",".join(SAMPLE), help="sample files in ../shared/data/web (default: all five)"
    )
    parser.add_argument(
        "--unit",
        type=float,
        default=UNIT,
        help=f"1× = this seeded fraction of every sample file's records (default {UNIT:g} = 1/16; 1 = the whole sample)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the record order of every copy (default 0)")
    parser.add_argument(
        "--shards", type=int, default=8, help="corpus shards = tasks of signals and scoring (default 8)"
    )
    parser.add_argument(
        "--stages",
        type=parse_stages,
        default=STAGES,
        help="stages to run, in pipeline order: ingest (always) and any of signals, score (default all three); "
        "e.g. ingest,score to measure scoring without paying for signals",
    )
    parser.add_argument("--executor-memory", default="1g", help="spark.executor.memory and each worker's --memory")
    parser.add_argument("--train-steps", type=int, default=2, help="outer steps of the DataRater model (default 2)")
    parser.add_argument("--sample-interval", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument("--work-dir", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--keep-work", action="store_true", help="keep inputs, corpora, logs")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    parser.add_argument("--name", default="scale", help="results file name (default scale)")
    args = parser.parse_args(argv)  # fmt: skip
    if args.cases is None:
        args.cases = [(factor, workers) for factor in args.factors for workers in args.workers]
    else:  # --factors and --workers describe what --cases runs
        args.factors = sorted({factor for factor, _ in args.cases})
        args.workers = sorted({workers for _, workers in args.cases})

    names = [n.strip() for n in args.files.split(",") if n.strip()]
    missing = [n for n in names if not (DATA / n).is_file()]
    if missing:
        raise SystemExit(f"not found in {DATA}: {', '.join(missing)} (the shared data folder is ../shared/data)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the Worker daemons' Python workers
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    started, load_start = time.perf_counter(), load_average()
    work = (args.work_dir or Path(tempfile.mkdtemp(prefix="scale-bench-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "benchmarks/scale.py", *(sys.argv[1:] if argv is None else argv)])

    t = time.perf_counter()
    files = [load_source(DATA / n) for n in names]
    sources = [f.unit(args.unit, args.seed) for f in files]
    load_s = time.perf_counter() - t
    replicas = Replicas(sources, work / "inputs", args.seed)
    sample = [
        {"file": f.name, "kind": f.kind, "gzip_layout": f.layout, "records": len(f.records),
         "unit_records": len(u.records), "bytes": (DATA / f.name).stat().st_size}
        for f, u in zip(files, sources, strict=True)
    ]  # fmt: skip
    del files
    described = ", ".join(f"{s['file']} ({s['unit_records']:,} of {s['records']:,} records)" for s in sample)
    print(f"sample: {described}", flush=True)

    model = work / "datarater-model"
    print("training the DataRater model (not timed into any stage) ...", flush=True)
    training = train_model(model, args.train_steps, work / "datarater-train.log")
    print(f"  {training['train_s']} s", flush=True)

    rows: list[dict] = []
    context = {"command": command, "load_start": load_start, "sample": sample, "replicas": replicas,
               "load_s": load_s, "training": training, "started": started, "planned": len(args.cases)}  # fmt: skip
    for factor, workers in args.cases:
        folders, totals = replicas.for_factor(factor)
        print(
            f"{factor:g}× ({totals['records']:,} records, {totals['raw_bytes'] / MB:,.1f} MB), {workers} worker(s) ...",
            flush=True,
        )
        row = run_case(factor, workers, folders, args, model, work)
        row["input"] = {**totals, "folders": [f.name for f in folders]}
        s = row["seconds"]
        row["seconds"]["total"] = round(sum(s[k] for k in args.stages), 2)
        row["net_seconds"] = {k: round(s[k] - s["startup_probe"], 2) for k in args.stages}
        row["net_seconds"]["total"] = round(sum(row["net_seconds"][k] for k in args.stages), 2)
        row["cpu_seconds"] = {who: cpu_seconds(row, who, args.stages) for who in ("executors", "driver")}
        rows.append(row)
        print(f"  {s} documents {row['documents']:,}", flush=True)
        markdown, json_path, md_path = write_summary(rows, args, context)  # after every row: a stopped run keeps it
    print(markdown)
    print(f"wrote {json_path} and {md_path} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if not args.keep_work and args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def write_summary(rows: list[dict], args, context: dict) -> tuple[str, Path, Path]:
    """Fits, speed-ups and checks of the rows measured so far, written as JSON and Markdown (``complete`` once
    every planned case has run)."""
    total_s = time.perf_counter() - context["started"]
    factors = sorted({r["factor"] for r in rows})
    # fits per worker count: x = uncompressed input MB
    fits: dict = {}
    for workers in sorted({r["workers"] for r in rows}):
        mine = [r for r in rows if r["workers"] == workers]
        xs = [r["input"]["raw_bytes"] / MB for r in mine]
        fits[str(workers)] = {
            stage: {
                "wall": scaling_fit(xs, [r["seconds"][stage] for r in mine]),
                "net": scaling_fit(xs, [r["net_seconds"][stage] for r in mine]),
                "executor_cpu": scaling_fit(xs, [r["cpu_seconds"]["executors"][stage] for r in mine]),
            }
            for stage in (*args.stages, "total")
        }
    speedups = []
    for factor in factors:
        one = next((r for r in rows if r["factor"] == factor and r["workers"] == 1), None)
        two = next((r for r in rows if r["factor"] == factor and r["workers"] == 2), None)
        if one is None or two is None:
            continue
        speedup = {"factor": factor}
        for k in (*args.stages, "total"):
            speedup[k] = round(one["seconds"][k] / two["seconds"][k], 2)
            if one["net_seconds"][k] > 0 and two["net_seconds"][k] > 0:
                speedup[f"net_{k}"] = round(one["net_seconds"][k] / two["net_seconds"][k], 2)
        speedups.append(speedup)
    # Whole copies are alike, so k copies must give exactly k times the documents of one (distinct ids: no
    # copy collapses into another); partial copies have no such expectation.
    whole = [f for f in factors if f == int(f)]
    for r in rows:
        base = next((b for b in rows if whole and b["factor"] == whole[0] and b["workers"] == r["workers"]), None)
        integral = base is not None and r["factor"] == int(r["factor"])
        r["documents_expected"] = round(base["documents"] * r["factor"] / base["factor"]) if integral else None

    machine = machine_info(java=True)
    versions = package_versions(["pyspark", "torch", "datatrove", "resiliparse", "warcio", "pyarrow"])
    payload = {
        "benchmark": "scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": context["command"],
        "complete": len(rows) == context["planned"],
        "cases_planned": [{"factor": f, "workers": w} for f, w in args.cases],
        "machine": machine,
        "load_average_start": context["load_start"],
        "versions": versions,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sample": context["sample"],
        "replication": {
            "procedure": "copy r of every file: records in random.Random(f'{seed}:{file}:{r}') order; JSONL: "
            "'id' = '<stem>:<line>#<r>' first, url + ?rep=r; WARC/WET: WARC-Record-ID (and Concurrent-To, "
            "Refers-To, Warcinfo-ID) = uuid5(NAMESPACE_URL, '<old>#<r>'), WARC-Target-URI + ?rep=r; gzip layout "
            "of the original, level 6, mtime 0; a fractional factor's last copy keeps the first round(fraction*n)",
            "seed": args.seed,
            "copies": context["replicas"].copies,
            "load_s": round(context["load_s"], 1),
            "write_s": round(context["replicas"].seconds, 1),
        },
        "datarater_model": context["training"],
        "rows": rows,
        "fits": fits,
        "speedup_1_to_2_workers": speedups,
        "benchmark_total_s": round(total_s, 1),
    }
    markdown = render_markdown(payload, args)
    json_path, md_path = write_results(args.out_dir, args.name, payload, markdown)
    return markdown, json_path, md_path


def peak(row: dict, who: str, key: str) -> float | None:
    """Largest value of ``key`` over the stages (startup probe included) and, for ``worker``, over workers."""
    values = [
        entry.get(key, 0.0)
        for stage in row["memory_mb"].values()
        for name, entry in stage.items()
        if isinstance(entry, dict) and (name == who or (who == "worker" and name.startswith("worker-")))
    ]
    return round(max(values), 1) if values else None


def render_markdown(payload: dict, args) -> str:
    rows, machine, stages = payload["rows"], payload["machine"], tuple(args.stages)

    def x(factor: float) -> str:
        return f"{factor:g}×"

    time_rows = []
    for r in rows:
        s, n = r["seconds"], r["documents"]
        time_rows.append([
            x(r["factor"]), r["workers"], n, r["input"]["raw_bytes"] / MB, r["text_bytes"] / MB,
            s["startup_probe"], *(s[k] for k in stages), s["total"],
            *(n / s[k] for k in (*stages, "total")), r["input"]["raw_bytes"] / MB / s["total"],
        ])  # fmt: skip
    time_table = markdown_table(
        ["factor", "workers", "docs", "input MB", "text MB", "start-up s", *(f"{k} s" for k in stages),
         "total s", *(f"docs/s {k}" for k in (*stages, "total")), "input MB/s total"],
        time_rows, digits=1, large=1000,
    )  # fmt: skip
    cpu_rows = []
    for r in rows:
        ex, dr = r["cpu_seconds"]["executors"], r["cpu_seconds"]["driver"]
        cpu_rows.append([
            x(r["factor"]), r["workers"], *(ex[k] for k in stages), ex["total"],
            1000 * ex["total"] / max(1, r["documents"]), *(dr[k] for k in stages),
        ])  # fmt: skip
    cpu_table = markdown_table(
        ["factor", "workers", *(f"executors {k}" for k in stages), "executors total",
         "executors per 1,000 docs", *(f"driver {k}" for k in stages)],
        cpu_rows, digits=1, large=1000,
    )  # fmt: skip
    memory_rows = []
    for r in rows:
        stage_totals = [
            max((e["total"] for n, e in r["memory_mb"].get(st, {}).items() if n.startswith("worker-")), default=None)
            for st in stages
        ]
        memory_rows.append([
            x(r["factor"]), r["workers"], peak(r, "worker", "jvm"), peak(r, "worker", "python"),
            peak(r, "worker", "total"), *stage_totals, peak(r, "worker", "jvm_process_hwm"),
            peak(r, "worker", "python_process_hwm"), peak(r, "driver", "python"), peak(r, "driver", "jvm"),
            peak(r, "driver", "total"),
        ])  # fmt: skip
    memory_table = markdown_table(
        ["factor", "workers", "executor JVM", "executor Python", "executor total", *(f"… in {st}" for st in stages),
         "JVM VmHWM", "largest Python VmHWM", "driver Python", "driver JVM", "driver total"],
        memory_rows, digits=1, large=10_000,
    )  # fmt: skip
    fit_rows = []
    for workers, fits_by_stage in payload["fits"].items():
        for stage, fit in fits_by_stage.items():
            w, n, c = fit["wall"], fit["net"], fit["executor_cpu"]
            if w:
                fit_rows.append([
                    workers, stage, w.get("exponent"), w.get("local_exponent"), n.get("exponent"),
                    n.get("local_exponent"), c.get("exponent"), c.get("local_exponent"), w["fixed_s"], w["s_per_mb"],
                    w["affine_r2"], c.get("fixed_s"), c.get("s_per_mb"),
                ])  # fmt: skip
    fit_table = markdown_table(
        ["workers", "stage", "exponent (wall)", "local exponent (wall)", "exponent (net)", "local exponent (net)",
         "exponent (executor CPU)", "local exponent (executor CPU)", "fixed s (a)", "s per input MB (b)",
         "R² of a + b·MB", "fixed executor CPU s", "executor CPU s per input MB"],
        fit_rows, digits=3, large=1000, large_digits=1,
    )  # fmt: skip
    keys = (*stages, "total")
    speed_rows = [
        [x(s["factor"]), *(s[k] for k in keys), *(s.get(f"net_{k}") for k in keys)]
        for s in payload["speedup_1_to_2_workers"]
    ]
    speed_table = markdown_table(["factor", *keys, *(f"{k} (net)" for k in keys)], speed_rows)
    unit = args.unit
    sample_lines = [
        f"- `{s['file']}`: {s['kind']}, {s['unit_records']:,} of its {s['records']:,} records, "
        f"{s['bytes'] / MB:,.1f} MB gzip as shared (gzip layout: {s['gzip_layout']})"
        for s in payload["sample"]
    ]
    checks = []
    for r in rows:
        seen = ", ".join(f"{st} {r['memory_mb'].get(st, {}).get('executors_seen', 0)}" for st in stages)
        checks.append(
            f"{x(r['factor'])} {r['workers']}w: {r['documents']:,} docs"
            + (f" (expected {r['documents_expected']:,})" if r["documents_expected"] is not None else "")
            + f", attribute rows {r['attribute_rows']}, executors seen ({seen})"
        )
    training = payload["datarater_model"]
    rep = payload["replication"]
    unit_text = (
        "1× = the whole sample."
        if unit >= 1
        else f"1× = a seeded {unit * 100:g} % of every file's records (`--unit {unit:g}`; at least one per file; "
        f"`random.Random(f'{{seed}}:{{file}}:unit')`), kept in file order: the whole sample × 1, 4, 16 does not "
        "fit the time this benchmark may take on 2 cores (see the module docstring)."
    )
    lines = [
        "# Scaling: ingest → signals → DataRater scoring on a Spark standalone cluster",
        "",
        *(
            []
            if payload["complete"]
            else [f"**Partial: {len(rows)} of {len(payload['cases_planned'])} planned cases run so far.**", ""]
        ),
        f"- date (UTC): {payload['date']}; whole benchmark {payload['benchmark_total_s']:,.0f} s"
        + ("" if payload["complete"] else " so far"),
        f"- machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['memory_gib']} GiB RAM; {machine['os']}; "
        f"python {machine['python']}; {machine.get('java', '')}; load average (1, 5, 15 min) at the start "
        f"{payload['load_average_start']}, at the end {machine['load_average']}",
        f"- versions: {format_versions(payload['versions'])}",
        f"- command: `{payload['command']}`",
        f"- stages: {', '.join(stages)}" + ("" if stages == STAGES else " (`--stages`: the others not run)"),
        f"- cluster: `jobs.local_cluster`, a standalone master + W workers on 127.0.0.1, 1 core and "
        f"{args.executor_memory} each (`spark.executor.memory={args.executor_memory}`), a fresh cluster per row; "
        f"{args.shards} corpus shards; CLI defaults otherwise (resiliparse, language ID on); MLflow tracking off",
        f"- DataRater model: trained once before the runs ({training['train_s']} s, not measured), settings "
        f"{training['settings']}; the default rater architecture {training['rater_model']}, which is what scoring "
        "costs depend on",
        "",
        "## Input: the shared web sample, replicated",
        "",
        *sample_lines,
        "",
        unit_text + " Factor f = ceil(f) copies, each in its own folder: copy r of every file has its records in a "
        f"seeded order (`random.Random(f'{{seed}}:{{file}}:{{r}}')`, seed {rep['seed']}) and distinct ids: JSONL "
        'records get `"id": "<stem>:<line>#<r>"` and `?rep=<r>` on the URL; WARC/WET records get '
        '`WARC-Record-ID = uuid5(NAMESPACE_URL, "<old>#<r>")` (references to other records likewise) and `?rep=<r>` '
        "on `WARC-Target-URI`; payloads untouched, the original's gzip layout kept. A fractional factor's last copy "
        f"keeps the first round(fraction·n) records of its order. Copies written in {rep['write_s']} s (not measured).",
        "",
        "## Time and throughput",
        "",
        time_table,
        "",
        "Seconds are wall seconds of each stage's whole process (interpreter, imports, JVM, Spark application and "
        "executor start-up on the cluster, the work, exit). *start-up s*: a separate process that only creates the "
        "session on the cluster and runs one trivial job on W partitions (executors and Python workers started): "
        "the fixed cost each stage pays; *net* = stage − start-up. *input MB*: uncompressed input (10⁶ B); "
        "*text MB*: UTF-8 text of the corpus. docs/s divide the corpus's documents by the stage's seconds.",
        "",
        "## CPU seconds",
        "",
        cpu_table,
        "",
        "*executors*: user + system CPU of the executor JVMs and their Python workers on all workers (sampled: each "
        "process's last value before it exits, so up to one sampling interval per process is missed); *driver*: the "
        "CLI process and its JVM. Unlike wall seconds, these do not count waiting (start-up, scheduling, other load).",
        "",
        "## Does the cost grow linearly with the input?",
        "",
        fit_table if fit_rows else "(not yet: needs two input sizes with the same worker count)",
        "",
        "*exponent*: least-squares slope of log(seconds) on log(input bytes) over all factors (1 = linear; below 1 "
        "while a fixed cost still dominates). *local exponent*: between the two largest factors only. *net*: with "
        "the measured start-up subtracted. *executor CPU*: the same on the executors' CPU seconds. *a + b·MB*: "
        "least-squares fixed overhead and marginal wall seconds per input MB; the last two columns: the same fit "
        "on the executors' CPU seconds.",
        "",
        "## 1 → 2 workers (speed-up = seconds with 1 worker ÷ seconds with 2)",
        "",
        speed_table if speed_rows else "(not measured: needs --workers 1,2)",
        "",
        f"This machine has {machine['nproc']} CPU cores. With 2 workers of 1 core each the driver (its Python process "
        "and JVM: planning, scheduling, committing) and this script's sampler compete with two busy executors for "
        "those cores, so a speed-up of 2 cannot be reached here; on a real cluster the driver has a machine of its own.",
        "",
        "## Memory (peak RSS, MB = 10⁶ B)",
        "",
        memory_table,
        "",
        f"Sampled every {args.sample_interval} s from /proc. *executor JVM*: an executor's JVM "
        "(CoarseGrainedExecutorBackend, under a worker's daemon); *executor Python*: the JVM's child processes summed "
        "(pyspark's daemon and Python workers); *executor total*: both at one moment; each is the largest over "
        "executors and stages, the *… in* columns per stage (every stage, worker and the start-up probe are in the "
        "JSON). *VmHWM*: the kernel's per-process peak, which sampling cannot miss. *driver*: the CLI process and "
        "its JVM. RSS counts pages a forked Python worker shares with pyspark's daemon in both. A JVM's heap grows "
        f"lazily up to -Xmx ({args.executor_memory}) before it collects, so JVM RSS rising with the input up to that "
        "cap is expected: bounded means it stays below heap + off-heap whatever the input.",
        "",
        "Checks: " + "; ".join(checks) + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
