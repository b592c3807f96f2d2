"""Kill points for ``curate run``: SIGKILL the whole job at a chosen moment, check what a reader sees, resume.

Shared by ``tests/reliability/test_kill_resume.py`` (a few points, in CI) and ``benchmarks/reliability_kills.py``
(many seeded points per stage). One kill point is a stage and a delay: start ``curate run CONFIG --workdir W``
in a new session, wait until ``W/pipeline.json`` shows that stage ``running``, wait the delay, then SIGKILL
every process of the session at once (the driver, its JVM and the Spark Python workers, which pyspark's daemon
moves to a process group of their own, so a ``killpg`` alone would leave them writing).

What must hold then (``check_outputs``), as a reader sees the crashed work directory:

* every committed output (a directory with its manifest) is whole: each file its manifest lists exists, has
  the listed rows and checksum, the counts reconcile (records read = kept + rejected), attribute parts are
  aligned row for row with the corpus they describe, and no data file the manifest does not list sits where
  a directory reader (``load_dataset("parquet", data_files=...)``, Spark) would pick it up;
* an output without its manifest is refused by its reader (``Corpus.open``, ``AttributeSet.open``);
* every stage ``pipeline.json`` calls done or skipped has its outputs committed.

After rerunning the same command (``resume``), ``compare_outputs`` checks the work directory against an
uninterrupted reference run: every committed data file (corpus shards, attribute parts, export files)
byte-identical (rejects files row-identical: select and mix record the absolute path of the shard a reject came
from, which names the work directory), no unlisted data file left behind, the same manifest counts, funnel and mixture, no record lost, pipeline.json finished;
and ``check_mlflow`` that the killed pipeline run (and each of its stage runs) ended KILLED, the resumed one
FINISHED, and no run of the store is left RUNNING. Each work directory has its own sqlite MLflow store.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DONE = ("done", "skipped")


# ---------------------------------------------------------------------------------------------- the pipeline
def write_inputs(root: Path, data: Path, c4: int = 100, wiki: int = 50, duplicates: int = 0) -> Path:
    """Two sources of real text under ``root/inputs``: C4 pages and Wikipedia articles (every other one
    corrupted), so signals, the rule and the mixture all have something to decide; with ``duplicates``, that
    many more C4 pages copy the first ones, alternately on another URL (an exact duplicate for dedup) and with a
    word added (a near duplicate)."""
    from curation.text.corruption import CORRUPTIONS

    with gzip.open(data / "web" / "c4-en-sample-1000.jsonl.gz", "rt", encoding="utf-8") as fh:
        pages = [json.loads(line) for line in islice(fh, c4)]
    with gzip.open(data / "reference" / "enwiki-6514-articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        articles = [json.loads(line) for line in islice(fh, wiki)]
    rng, kinds = random.Random(0), sorted(CORRUPTIONS)
    rows = []
    for n, article in enumerate(articles):
        text = article["text"][:3000]
        kind = "clean" if n % 2 == 0 else kinds[n % len(kinds)]
        rows.append({"id": f"wiki-{n}", "text": text if kind == "clean" else CORRUPTIONS[kind](text, 0.5, rng)})
    inputs = root / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    records = [{"text": p["text"]} for p in pages]
    for n in range(duplicates):  # a mirror of a page (same text, another URL, so another id), or a new version
        text = pages[n % len(pages)]["text"]
        records.append(
            {"text": text, "url": f"https://mirror.example/{n}"} if n % 2 == 0 else {"text": text + " Updated."}
        )
    (inputs / "c4.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (inputs / "wiki.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return inputs


def pipeline_config(
    root: Path,
    *,
    shards: int = 2,
    tokens: str = "120k",
    export_rows: int = 40,
    datarater: bool = False,
    dedup: bool = False,
    master: str = "local[2]",
    name: str = "kills",
    file_name: str = "pipeline.yaml",
) -> Path:
    """A pipeline config over ``root/inputs``: ingest, signals, [dedup], [datarater, 2 outer steps], select
    (``gopher_repetition.pass``, and ``is_dup_keep`` with dedup), mix (30 % C4 pages, 70 % Wikipedia, which is
    short and repeats), export in files of ``export_rows`` rows (several files, so a kill can land between them);
    Spark on ``master``. Written as ``root/file_name``: configs that differ only in the master share the inputs."""
    import yaml

    config: dict[str, Any] = {
        "name": name,
        "spark": {"master": master},
        "ingest": {"inputs": ["inputs/c4.jsonl", "inputs/wiki.jsonl"], "shards": shards, "langid": False},
        "signals": {},
        "select": {"rule": ["gopher_repetition.pass"]},
        "mix": {"targets": {"c4": 0.3, "wiki": 0.7}, "tokens": tokens},
        "export": {"format": "jsonl.zst", "shard_rows": export_rows},
        "report": False,
    }
    if dedup:
        config["dedup"] = {}
        config["select"] = {"rule": ["gopher_repetition.pass", "is_dup_keep"]}
    if datarater:
        config["datarater"] = {
            "train": {"settings": {"outer_steps": 2, "population": 1, "seq_len": 64, "inner_batch": 4,
                                   "outer_batch": 4, "rater_d_model": 16, "rater_layers": 1}},
            "filter": {"rho": 0.5, "batch_size": 8},
            "device": "cpu",
        }  # fmt: skip
    path = root / file_name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- running it
@dataclass(frozen=True)
class Case:
    """One work directory with its own MLflow store; the command runs from ``root`` (MLflow's artifacts)."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def command(self, config: Path) -> list[str]:
        return [sys.executable, "-m", "pipelines.cli", "run", str(config), "--workdir", str(self.work)]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYSPARK_PYTHON=sys.executable,
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_DIRS=str(self.root / "spark-local"),
            MLFLOW_TRACKING_URI=self.tracking_uri,
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
            COLUMNS="200",
        )
        return env

    def state(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.work / "pipeline.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def start(self, config: Path, log_name: str) -> subprocess.Popen:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / log_name, "wb") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                self.command(config),
                cwd=self.root,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, log_name: str, lines: int = 15) -> str:
        path = self.root / log_name
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def run(self, config: Path, log_name: str, timeout: float = 900) -> tuple[int, float]:
        """Run ``curate run`` to the end; (exit code, seconds). A run past ``timeout`` is killed (code -9)."""
        started = time.monotonic()
        job = self.start(config, log_name)
        try:
            code = job.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_session(job.pid)
            code = job.wait()
        return code, time.monotonic() - started


def run_reference(config: Path, root: Path, timeout: float = 900) -> Case:
    """The uninterrupted run every kill point is compared with."""
    case = Case(root)
    code, _ = case.run(config, "reference.log", timeout)
    if code != 0:
        raise RuntimeError(f"the reference run failed ({code}):\n{case.log_tail('reference.log')}")
    return case


def stage_seconds(case: Case) -> dict[str, float]:
    """Seconds per stage of a finished run, from its pipeline.json."""
    return {s["name"]: float(s["seconds"]) for s in (case.state() or {}).get("stages", [])}


# ---------------------------------------------------------------------------------------------- killing it
def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies left out), read from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # state ppid pgrp session ...
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def kill_session(sid: int) -> None:
    """SIGKILL every process of the session ``sid`` (its leader started with ``start_new_session``), the way
    a power cut would: the process group first, then stragglers that left it (pyspark's daemon and workers
    call setpgid), until none is alive."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(200):
        members = session_members(sid)
        if not members:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    raise RuntimeError(f"processes of session {sid} survive SIGKILL: {session_members(sid)}")


def running_stage(state: dict[str, Any] | None) -> str | None:
    """The stage pipeline.json shows running, if any."""
    for stage in (state or {}).get("stages", []):
        if stage.get("status") == "running":
            return stage["name"]
    return None


@dataclass(frozen=True)
class KillPoint:
    """SIGKILL ``delay`` seconds after ``stage`` shows ``running`` in pipeline.json."""

    stage: str
    delay: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.stage}+{self.delay:.2f}s"


@dataclass
class Crash:
    point: KillPoint
    killed_in: str | None  # the stage pipeline.json showed running after the kill
    caught: bool  # False: the run ended (or never reached the stage) before the kill
    mlflow_run_id: str | None  # the killed pipeline's MLflow run
    mlflow_status: str | None  # its status right after the kill (RUNNING: nobody could end it)
    seconds: float
    problems: list[str] = field(default_factory=list)


def crash(config: Path, case: Case, point: KillPoint, attempt: int = 0, timeout: float = 900) -> Crash:
    """Start the pipeline, kill it at ``point``, and check the crashed work directory."""
    log = f"killed-{attempt}.log"
    earlier = (case.state() or {}).get("mlflow_run_id")  # a state file left by an earlier run is not this run's
    started = time.monotonic()
    job = case.start(config, log)
    deadline = started + timeout
    reached = False
    try:
        while time.monotonic() < deadline and job.poll() is None:
            state = case.state()
            if state and state.get("mlflow_run_id") != earlier:
                reached = any(s["name"] == point.stage for s in state.get("stages", []))
                if reached:
                    break
            time.sleep(0.02)
        if reached and point.delay > 0:
            end = time.monotonic() + point.delay
            while job.poll() is None and time.monotonic() < end:
                time.sleep(min(0.01, max(0.0, end - time.monotonic())))
        alive = job.poll() is None
    finally:
        kill_session(job.pid)
        job.wait()
    seconds = time.monotonic() - started
    state = case.state()
    caught = reached and alive and not (state or {}).get("finished", False)
    outcome = Crash(point, running_stage(state), caught, (state or {}).get("mlflow_run_id"), None, seconds)
    if not reached:
        outcome.problems.append(
            f"{point.label}: the run never showed {point.stage} running (exit {job.returncode}):\n{case.log_tail(log)}"
        )
    outcome.problems += check_outputs(case.work)
    outcome.mlflow_status = run_status(case.tracking_uri, outcome.mlflow_run_id)
    return outcome


# ---------------------------------------------------------------------------------------------- invariants
def sha256(path: Path) -> str:
    from curation.corpus import file_sha256

    return file_sha256(path)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def output_dirs(work: Path) -> list[Path]:
    """Every directory of the work directory that holds (or is meant to hold) a committed output."""
    if not work.is_dir():
        return []
    found = {p.parent for pattern in ("*/manifest.json", "attributes/*/manifest.json") for p in work.glob(pattern)}
    found |= {p for p in work.iterdir() if p.is_dir() and (p / "shards").is_dir()}
    found |= {p for p in work.glob("attributes/*") if p.is_dir()}
    found |= {p for p in [work / "export"] if p.is_dir()}
    return sorted(found)


def _manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _check_listed(directory: Path, entries: list[dict], where: str) -> list[str]:
    problems = []
    for entry in entries:
        path = directory / entry["path"]
        if not path.is_file():
            problems.append(f"{where}: lists {entry['path']}, which is missing")
            continue
        if "sha256" in entry and sha256(path) != entry["sha256"]:
            problems.append(f"{where}: {entry['path']} does not match its sha256")
        if path.suffix == ".parquet" and "rows" in entry and _rows(path) != entry["rows"]:
            problems.append(f"{where}: {entry['path']} holds {_rows(path)} rows, the manifest says {entry['rows']}")
    return problems


def _check_corpus(directory: Path, manifest: dict[str, Any]) -> list[str]:
    from curation.corpus import Corpus
    from curation.errors import CorpusError

    where = f"{directory.name}/manifest.json"
    try:
        Corpus.open(directory)
    except CorpusError as exc:
        return [f"{where}: Corpus.open refuses a committed corpus: {exc}"]
    problems = _check_listed(directory, manifest["shards"], where)
    problems += _check_listed(directory, manifest.get("rejects", []), where)
    counts = manifest["counts"]
    if sum(s["rows"] for s in manifest["shards"]) != counts["documents"]:
        problems.append(f"{where}: shard rows do not add up to counts.documents={counts['documents']}")
    kept = counts.get("kept", counts["documents"])  # a mixture writes kept + repeats
    rejected = sum(counts["rejected"].values())
    if counts["records_read"] != kept + rejected:
        problems.append(f"{where}: records_read={counts['records_read']} != kept {kept} + rejected {rejected}")
    if "repeats" in counts and counts["documents"] != counts["kept"] + counts["repeats"]:
        problems.append(f"{where}: documents != kept + repeats")
    listed = {e["path"] for e in [*manifest["shards"], *manifest.get("rejects", [])]}
    on_disk = {p.relative_to(directory).as_posix() for p in directory.glob("shards/*.parquet")}
    on_disk |= {p.relative_to(directory).as_posix() for p in directory.glob("rejects/*.parquet")}
    problems += [f"{where}: {stray} is on disk but not in the manifest" for stray in sorted(on_disk - listed)]
    return problems


def _check_attributes(directory: Path, manifest: dict[str, Any]) -> list[str]:
    import pyarrow.parquet as pq

    from curation.attributes import AttributeSet, part_name
    from curation.corpus import Corpus
    from curation.errors import CorpusError

    where = f"attributes/{directory.name}/manifest.json"
    try:
        corpus = Corpus.open(manifest["corpus"]["path"])
        AttributeSet.open(directory, corpus)
    except CorpusError as exc:
        return [f"{where}: a committed attribute set is refused: {exc}"]
    problems = []
    if manifest["shards"] != len(corpus.shard_paths):
        return [f"{where}: {manifest['shards']} parts for {len(corpus.shard_paths)} corpus shards"]
    rows = 0
    for index, shard in enumerate(corpus.shard_paths):
        part = directory / part_name(index)
        if not part.is_file():
            problems.append(f"{where}: part {part.name} is missing")
            continue
        ids = pq.read_table(part, columns=["id"]).column("id")
        rows += len(ids)
        if not ids.equals(pq.read_table(shard, columns=["id"]).column("id")):
            problems.append(f"{where}: {part.name} is not aligned row for row with corpus {shard.name}")
    if rows != manifest["rows"]:
        problems.append(f"{where}: parts hold {rows} rows, the manifest says {manifest['rows']}")
    wanted = {part_name(i) for i in range(manifest["shards"])}
    strays = {p.name for p in directory.glob("*.parquet")} - wanted
    problems += [f"{where}: {stray} is on disk but not in the set" for stray in sorted(strays)]
    return problems


def _check_export(directory: Path, manifest: dict[str, Any]) -> list[str]:
    from curation.corpus import Corpus
    from curation.errors import CorpusError

    where = "export/manifest.json"
    problems = []
    for entry in manifest["files"]:
        path = directory / entry["path"]
        if not path.is_file():
            problems.append(f"{where}: lists {entry['path']}, which is missing")
        elif sha256(path) != entry["sha256"]:
            problems.append(f"{where}: {entry['path']} does not match its sha256")
    if sum(f["rows"] for f in manifest["files"]) != manifest["counts"]["rows"]:
        problems.append(f"{where}: file rows do not add up to counts.rows")
    if manifest["input"]["documents"] != manifest["counts"]["rows"]:
        problems.append(f"{where}: {manifest['counts']['rows']} rows exported of {manifest['input']['documents']}")
    try:
        source = Corpus.open(manifest["input"]["path"])
    except CorpusError as exc:
        problems.append(f"{where}: its input corpus is refused: {exc}")
    else:
        if sha256(source.root / "manifest.json") != manifest["input"]["manifest_sha256"]:
            problems.append(f"{where}: describes another version of its input corpus {source.root}")
    listed = {f["path"] for f in manifest["files"]}
    data = {f"data/{p.name}" for p in (directory / "data").glob("*") if not p.name.startswith(".")}
    problems += [f"{where}: {stray} is on disk but not in the manifest" for stray in sorted(data - listed)]
    return problems


def _check_uncommitted(directory: Path) -> list[str]:
    """A directory without its manifest is an unfinished write: its reader must refuse it."""
    from curation.attributes import AttributeSet
    from curation.corpus import Corpus
    from curation.errors import CorpusError

    opener = AttributeSet.open if directory.parent.name == "attributes" else Corpus.open
    if directory.name == "export":
        return []  # no reader of its own: the manifest is the only index (checked by the resume)
    try:
        opener(directory)
    except CorpusError:
        return []
    return [f"{directory.name}: has no manifest.json, yet its reader opens it"]


def check_outputs(work: Path) -> list[str]:
    """What a reader sees in a (possibly crashed) work directory; [] when every invariant holds."""
    problems: list[str] = []
    for directory in output_dirs(work):
        manifest = _manifest(directory)
        if manifest is None:
            problems += _check_uncommitted(directory)
            continue
        kind = manifest.get("format", "")
        if kind.startswith("curation.corpus/"):
            problems += _check_corpus(directory, manifest)
        elif kind.startswith("curation.attributes/"):
            problems += _check_attributes(directory, manifest)
        elif directory.name == "export":
            problems += _check_export(directory, manifest)
        else:
            problems.append(f"{directory.name}/manifest.json: unknown format {kind!r}")
    state_path = work / "pipeline.json"
    if state_path.is_file():
        from curation.pipeline_state import COMMIT_MARKERS

        state = json.loads(state_path.read_text(encoding="utf-8"))
        for stage in state.get("stages", []):
            if stage["status"] not in DONE:
                continue
            for key, path in stage["outputs"].items():
                kind = {"corpus": "corpus", "attributes": "attributes", "export": "export"}.get(key)
                if kind and not (Path(path) / COMMIT_MARKERS[kind]).is_file():
                    problems.append(f"pipeline.json: {stage['name']} is {stage['status']} but {path} is not committed")
    return problems


# ---------------------------------------------------------------------------------------------- comparison
def _rejects_digest(path: Path, work: Path) -> str:
    """Checksum of a rejects file's rows with the work directory's path written as ``WORK``: select and mix
    name the shard a reject came from by its absolute path, which differs between two work directories."""
    import pyarrow.parquet as pq

    rows = json.dumps(pq.read_table(path).to_pylist(), sort_keys=True).replace(str(work), "WORK")
    return "rows:" + hashlib.sha256(rows.encode()).hexdigest()


def data_files(work: Path) -> dict[str, str]:
    """Every data file of the work directory a reader could take (listed by a manifest or not): path -> sha256
    (of the bytes; of the rows for rejects files, see ``_rejects_digest``)."""
    patterns = ["*/shards/*.parquet", "*/rejects/*.parquet", "attributes/*/*.parquet", "export/data/*"]
    files = [p for pattern in patterns for p in work.glob(pattern) if not p.name.startswith(".")]
    return {
        p.relative_to(work).as_posix(): _rejects_digest(p, work) if p.parent.name == "rejects" else sha256(p)
        for p in sorted(files)
    }


def _record_keys(directory: Path, manifest: dict[str, Any], work: Path) -> set[str]:
    """What identifies each record of a committed output: document ids, reject locators, attribute ids."""
    import pyarrow.parquet as pq

    keys: set[str] = set()
    if "shards" in manifest and isinstance(manifest["shards"], list):
        for entry in manifest["shards"]:
            keys.update(f"doc:{i}" for i in pq.read_table(directory / entry["path"], columns=["id"])["id"].to_pylist())
        for entry in manifest.get("rejects", []):
            table = pq.read_table(directory / entry["path"], columns=["source_file", "locator", "reason"])
            keys.update(
                f"reject:{r['source_file'].replace(str(work), 'WORK')}:{r['locator']}:{r['reason']}"
                for r in table.to_pylist()
            )
    elif isinstance(manifest.get("shards"), int):
        for part in sorted(directory.glob("part-*.parquet")):
            keys.update(f"attr:{i}" for i in pq.read_table(part, columns=["id"])["id"].to_pylist())
    elif "files" in manifest:
        keys.update(f"export:{f['path']}:{n}" for f in manifest["files"] for n in range(f["rows"]))
    return keys


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """The parts of a manifest that must not change on a resume (run ids and timings may)."""
    keys = ("counts", "funnel", "mixture", "rows", "shards", "files", "rejects")
    return {k: manifest[k] for k in keys if k in manifest}


def compare_outputs(reference: Path, work: Path) -> tuple[list[str], int]:
    """(differences from the reference run, records lost): the resumed run must equal the uninterrupted one."""
    problems: list[str] = []
    state = (
        json.loads((work / "pipeline.json").read_text(encoding="utf-8")) if (work / "pipeline.json").is_file() else {}
    )
    ref_state = json.loads((reference / "pipeline.json").read_text(encoding="utf-8"))
    if not state.get("finished"):
        problems.append("pipeline.json: not finished after the resume")
    names = [s["name"] for s in state.get("stages", [])]
    if names != [s["name"] for s in ref_state["stages"]]:
        problems.append(f"pipeline.json: stages {names}, the reference ran {[s['name'] for s in ref_state['stages']]}")
    problems += [f"{s['name']}: status {s['status']}" for s in state.get("stages", []) if s["status"] not in DONE]
    ours, theirs = data_files(work), data_files(reference)
    for path in sorted(theirs.keys() - ours.keys()):
        problems.append(f"{path}: missing after the resume")
    for path in sorted(ours.keys() - theirs.keys()):
        problems.append(f"{path}: not in the reference run (a stray file)")
    for path in sorted(ours.keys() & theirs.keys()):
        if ours[path] != theirs[path]:
            problems.append(f"{path}: bytes differ from the reference run")
    lost = 0
    for ref_dir in output_dirs(reference):
        ref_manifest = _manifest(ref_dir)
        if ref_manifest is None:
            continue
        directory = work / ref_dir.relative_to(reference)
        manifest = _manifest(directory)
        name = ref_dir.relative_to(reference).as_posix()
        if manifest is None:
            problems.append(f"{name}: not committed after the resume")
            lost += len(_record_keys(ref_dir, ref_manifest, reference))
            continue
        if _summary(manifest) != _summary(ref_manifest):
            problems.append(f"{name}/manifest.json: counts or contents differ from the reference run")
        lost += len(_record_keys(ref_dir, ref_manifest, reference) - _record_keys(directory, manifest, work))
    if lost:
        problems.append(f"{lost} record(s) of the reference run are missing after the resume")
    return problems, lost


def leftovers(work: Path) -> list[str]:
    """Temporary files and checkpoint folders a finished run still holds (harmless to readers, but disk)."""
    found = [p for p in work.rglob(".*.tmp") if p.is_file()]
    found += [p for p in work.glob("*/_work") if p.is_dir()]
    return sorted(p.relative_to(work).as_posix() for p in found)


# ---------------------------------------------------------------------------------------------- MLflow
def run_status(uri: str, run_id: str | None) -> str | None:
    if not run_id:
        return None
    import mlflow

    return mlflow.MlflowClient(uri).get_run(run_id).info.status


def check_mlflow(uri: str, killed: list[str | None], final: str | None) -> list[str]:
    """After the resume: each killed pipeline run and everything under it ended (KILLED), the resumed run
    FINISHED, and no run of the store is left RUNNING."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    problems = []
    for run_id in killed:
        if run_id is None:
            problems.append("a killed run left no MLflow run id in pipeline.json")
        elif (status := client.get_run(run_id).info.status) != "KILLED":
            problems.append(f"killed pipeline run {run_id}: {status}, expected KILLED")
    if final is None or (status := client.get_run(final).info.status) != "FINISHED":
        problems.append(f"resumed pipeline run {final}: {None if final is None else status}, expected FINISHED")
    experiments = [e.experiment_id for e in client.search_experiments()]
    stuck = client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=100)
    for run in stuck:
        name = run.data.tags.get("curation.stage") or run.info.run_name
        problems.append(f"MLflow run {run.info.run_id} ({name}) is still RUNNING")
    return problems


# ---------------------------------------------------------------------------------------------- one kill point
@dataclass
class Outcome:
    """Kill points (one after another in one work directory), then the resume to the end."""

    points: list[KillPoint]
    crashes: list[Crash]
    resumed: bool  # the final rerun exited 0
    problems: list[str]  # crashed-state, output and MLflow problems, all together
    records_lost: int
    crash_seconds: float
    resume_seconds: float
    leftovers: list[str] = field(default_factory=list)  # temporary files the finished run still holds

    @property
    def caught(self) -> bool:
        return all(c.caught for c in self.crashes)

    @property
    def survived(self) -> bool:
        return self.resumed and not self.problems


def kill_and_resume(
    config: Path, reference: Case, root: Path, points: list[KillPoint], timeout: float = 900
) -> Outcome:
    """Kill the pipeline at each point in turn (every rerun picking up where the last one died), then rerun it
    to the end and compare with ``reference``."""
    case = Case(root)
    crashes = []
    for attempt, point in enumerate(points):
        crashes.append(crash(config, case, point, attempt, timeout))
    problems = [f"after kill {c.point.label} (in {c.killed_in}): {p}" for c in crashes for p in c.problems]
    code, resume_seconds = case.run(config, "resumed.log", timeout)
    if code != 0:
        problems.append(f"the resume exited {code}:\n{case.log_tail('resumed.log')}")
    differences, lost = compare_outputs(reference.work, case.work)
    problems += differences
    final = (case.state() or {}).get("mlflow_run_id")
    problems += check_mlflow(case.tracking_uri, [c.mlflow_run_id for c in crashes if c.caught], final)
    crash_seconds = sum(c.seconds for c in crashes)
    return Outcome(points, crashes, code == 0, problems, lost, crash_seconds, resume_seconds, leftovers(case.work))
