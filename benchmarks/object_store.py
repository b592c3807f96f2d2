"""Ingest and signals on an S3-protocol server against the same files on local disk: seconds, bytes per task.

An S3-protocol server (moto's server app, from PyPI) runs in this process on 127.0.0.1, wrapped in a WSGI
layer that counts every GET: requests, ranged requests and response bytes. ``curate ingest`` runs as a user
runs it (a child process, ``local[W]``, no tracking), once with local paths and once with the bucket prefix;
both must hold the same documents in the same order. Two inputs, C4 copies with ids as in ``benchmarks/ingest.py``:

- ``jsonl``: plain JSONL, cut by ``--split-mb`` into byte ranges: each task should read its range (plus the
  line it ends in), so the bytes served should stay close to the input's size;
- ``jsonl-gz``: gzip JSONL, which cannot be cut by bytes: each file is one split, read once.

Then, on the plain JSONL input, the whole way through the store (the second table): ``curate ingest`` from the
bucket into the bucket (``--out s3://...``: shards uploaded whole, the manifest last) against local to local,
and ``curate signals`` reading that corpus from the bucket and writing its attribute set there against the
same on local disk. Both must give the same documents and the same signal values; the server also counts
the bytes uploaded (PUT and POST bodies).

A loopback server is not a real store: the ratio measures the protocol's overhead (requests, the reader's
buffering, the staging of each output file before its upload), not a network. Spark start-up is in both
columns alike.

Usage::

    python benchmarks/object_store.py [--copies 8] [--split-mb 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import RESULTS, child_env, markdown_table, provenance, write_results
from ingest import replicate_jsonl

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BUCKET = "bench-inputs"


class CountingApp:
    """WSGI middleware: counts GET requests, those with a Range header, and the bytes of their responses."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.gets = self.ranged = self.bytes = self.uploaded = 0

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in ("PUT", "POST"):
            with self.lock:
                self.uploaded += int(environ.get("CONTENT_LENGTH") or 0)
        counting = environ.get("REQUEST_METHOD") == "GET" and environ.get("QUERY_STRING", "") == ""
        if counting:
            with self.lock:
                self.gets += 1
                self.ranged += "HTTP_RANGE" in environ
        for chunk in self.app(environ, start_response):
            if counting:
                with self.lock:
                    self.bytes += len(chunk)
            yield chunk


def start_server() -> tuple[CountingApp, object, str]:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    counting = CountingApp(DomainDispatcherApplication(create_backend_app))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", port, counting, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return counting, server, f"http://127.0.0.1:{port}"


def upload(endpoint: str, folder: Path, prefix: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")  # fmt: skip
    if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=BUCKET)
    for path in sorted(folder.iterdir()):
        client.upload_file(str(path), BUCKET, f"{prefix}/{path.name}")


def curate(args: list[str], env: dict, log: Path) -> float:
    """Wall seconds of one ``curate`` command, run as a user runs it."""
    cmd = [sys.executable, "-m", "pipelines.cli", *args]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"curate {' '.join(args[:2])} failed ({done.returncode}); log: {log}\n{done.stderr[-3000:]}")
    return round(wall, 3)


def ingest(source: str, out: str, workers: int, split_mb: float, env: dict, log: Path) -> dict:
    from curation.corpus import Corpus

    wall = curate(["ingest", source, "--out", out, "--no-tracking", "--no-langid", "--master", f"local[{workers}]",
                   "--split-mb", str(split_mb)], env, log)  # fmt: skip
    corpus = Corpus.open(out)
    return {"wall_s": wall, "splits": sum(e["splits"] for e in corpus.manifest["inputs"]),
            "shards": len(corpus.shard_paths), "documents": corpus.num_documents,
            "documents_sha256": documents_digest(corpus)}  # fmt: skip


def signals(corpus: str, out: str, workers: int, env: dict, log: Path) -> dict:
    from curation.attributes import AttributeSet

    wall = curate(["signals", corpus, "--out", out, "--no-tracking", "--master", f"local[{workers}]"], env, log)
    values = AttributeSet.open(out).read()
    return {"wall_s": wall, "values_sha256": hashlib.sha256(json.dumps(values.to_pylist()).encode()).hexdigest()}


def documents_digest(corpus) -> str:
    """The documents' content in shard order (id, text, url, timestamp, lang, n_bytes): the ``meta`` and
    ``source`` columns name the input path, which differs between a local and an s3 run by design."""
    digest = hashlib.sha256()
    columns = ["id", "text", "url", "timestamp", "lang", "n_bytes"]
    for batch in corpus.iter_batches(columns=columns):
        digest.update(json.dumps(batch.to_pylist(), default=str).encode())
    return digest.hexdigest()


def through_the_store(args, counting, work: Path, env: dict) -> list[dict]:
    """Ingest and signals with inputs and outputs on the server, against the same on local disk."""
    folder = work / "jsonl"
    best: dict[tuple[str, str], dict] = {}
    for trial in range(args.trials):
        for where in ("local", "s3"):
            base = str(work / f"e2e-{trial}") if where == "local" else f"s3://{BUCKET}/e2e-{trial}"
            source = str(folder) if where == "local" else f"s3://{BUCKET}/jsonl/"
            counting.reset()
            result = ingest(
                source, f"{base}/corpus", args.workers, args.split_mb, env, work / f"e2e-ingest-{where}.log"
            )
            result |= {"gets": counting.gets, "bytes_served": counting.bytes, "bytes_uploaded": counting.uploaded}
            counting.reset()
            scored = signals(f"{base}/corpus", f"{base}/signals", args.workers, env, work / f"e2e-signals-{where}.log")
            scored |= {"gets": counting.gets, "bytes_served": counting.bytes, "bytes_uploaded": counting.uploaded,
                       "tasks": result["shards"]}  # fmt: skip
            for stage, row in (("ingest", result), ("signals", scored)):
                if (stage, where) not in best or row["wall_s"] < best[(stage, where)]["wall_s"]:
                    best[(stage, where)] = row
            print(f"through the store, {where} trial {trial + 1}: ingest {result['wall_s']:.1f} s, "
                  f"signals {scored['wall_s']:.1f} s", flush=True)  # fmt: skip
    rows = []
    for stage, same in (("ingest", "documents_sha256"), ("signals", "values_sha256")):
        local, remote = best[(stage, "local")], best[(stage, "s3")]
        if local[same] != remote[same]:
            raise SystemExit(f"{stage} through the store wrote other values than on local disk")
        tasks = remote.get("tasks") or remote["splits"]
        rows.append({
            "stage": stage, "local_s": local["wall_s"], "s3_s": remote["wall_s"],
            "ratio": remote["wall_s"] / local["wall_s"], "tasks": tasks, "gets": remote["gets"],
            "bytes_served": remote["bytes_served"], "bytes_uploaded": remote["bytes_uploaded"],
            "bytes_served_per_task": remote["bytes_served"] / max(1, tasks), "identical_output": True,
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=8, help="copies of the 1,000-document C4 sample per input")
    parser.add_argument("--split-mb", type=float, default=1.0, help="curate ingest --split-mb (byte ranges)")
    parser.add_argument("--workers", type=int, default=2, help="Spark local[W]")
    parser.add_argument("--trials", type=int, default=2, help="runs per row; the fastest is kept")
    parser.add_argument("--name", default="object_store", help="results file name")
    args = parser.parse_args(argv)

    if args.copies < 1 or args.trials < 1:
        parser.error("--copies and --trials must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="object-store-"))
    counting, server, endpoint = start_server()
    credentials = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                   "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    env = {**child_env(), **credentials}
    os.environ.update(credentials)  # this process reads the outputs back to compare them
    try:
        gz = replicate_jsonl(SHARED / "web" / "c4-en-sample-1000.jsonl.gz", work / "jsonl-gz", args.copies)
        (work / "jsonl").mkdir()
        for path in gz:
            (work / "jsonl" / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
        rows = []
        for kind in ("jsonl", "jsonl-gz"):
            folder = work / kind
            upload(endpoint, folder, kind)
            size = sum(p.stat().st_size for p in folder.iterdir())
            best: dict[str, dict] = {}
            for trial in range(args.trials):
                for where, source in (("local", str(folder)), ("s3", f"s3://{BUCKET}/{kind}/")):
                    out = work / f"out-{kind}-{where}-{trial}"
                    counting.reset()
                    result = ingest(source, str(out), args.workers, args.split_mb, env, work / f"{out.name}.log")
                    result |= {"gets": counting.gets, "ranged_gets": counting.ranged, "bytes_served": counting.bytes}
                    if where not in best or result["wall_s"] < best[where]["wall_s"]:
                        best[where] = result
                    shutil.rmtree(out)
                    print(f"{kind} {where} trial {trial + 1}: {result['wall_s']:.1f} s", flush=True)
            local, remote = best["local"], best["s3"]
            if local["documents_sha256"] != remote["documents_sha256"]:
                raise SystemExit(f"{kind}: the s3 ingest wrote other documents than the local one")
            rows.append({
                "input": kind, "files": args.copies, "input_bytes": size, "splits": remote["splits"],
                "documents": remote["documents"], "local_s": local["wall_s"], "s3_s": remote["wall_s"],
                "ratio": remote["wall_s"] / local["wall_s"], "gets": remote["gets"],
                "ranged_gets": remote["ranged_gets"], "bytes_served": remote["bytes_served"],
                "bytes_served_per_input_byte": remote["bytes_served"] / size,
                "bytes_served_per_task": remote["bytes_served"] / max(1, remote["splits"]),
                "input_bytes_per_split": size / max(1, remote["splits"]), "identical_output": True,
            })  # fmt: skip
        end_to_end = through_the_store(args, counting, work, env)
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    payload = {
        "benchmark": "object_store",
        **provenance(["pyspark", "s3fs", "fsspec", "moto", "pyarrow"], java=True, argv=argv),
        "settings": vars(args),
        "rows": rows,
        "through_the_store": end_to_end,
    }
    markdown = render(payload)
    write_results(RESULTS, args.name, payload, markdown)
    print(markdown)


def render(p: dict) -> str:
    s = p["settings"]
    table = markdown_table(
        ["input", "files", "MB", "splits", "local s", "s3 s", "s3 / local", "GETs (ranged)", "MB served",
         "served / input", "MB served per split", "MB input per split"],
        [[r["input"], r["files"], f"{r['input_bytes'] / 1e6:.1f}", r["splits"], f"{r['local_s']:.2f}",
          f"{r['s3_s']:.2f}", f"{r['ratio']:.2f}", f"{r['gets']} ({r['ranged_gets']})",
          f"{r['bytes_served'] / 1e6:.1f}", f"{r['bytes_served_per_input_byte']:.2f}",
          f"{r['bytes_served_per_task'] / 1e6:.2f}", f"{r['input_bytes_per_split'] / 1e6:.2f}"] for r in p["rows"]],
    )  # fmt: skip
    store = markdown_table(
        ["stage", "local s", "s3 s", "s3 / local", "tasks", "GETs", "MB served", "MB served per task",
         "MB uploaded"],
        [[r["stage"], f"{r['local_s']:.2f}", f"{r['s3_s']:.2f}", f"{r['ratio']:.2f}", r["tasks"], r["gets"],
          f"{r['bytes_served'] / 1e6:.1f}", f"{r['bytes_served_per_task'] / 1e6:.2f}",
          f"{r['bytes_uploaded'] / 1e6:.1f}"] for r in p.get("through_the_store", [])],
    )  # fmt: skip
    m = p["machine"]
    return (
        "# Ingest and signals on an S3-protocol server against local disk\n\n"
        f"- date: {p['date']}; `python benchmarks/object_store.py --copies {s['copies']} --split-mb "
        f"{s['split_mb']:g} --workers {s['workers']} --trials {s['trials']}`; fastest of {s['trials']} per row\n"
        "- server: moto's S3 app on 127.0.0.1 in the benchmark's process (a loopback, not a network); "
        "`curate ingest --no-langid --no-tracking`, whole command wall seconds (Spark start-up included on "
        "both sides); the two corpora hold the same documents in the same order (their `meta` and `source` name the input path, so those differ)\n"
        "- served: GET response bytes counted by the server (object reads; listings and HEADs not counted)\n\n"
        f"## Inputs from the store, corpus on local disk\n\n{table}\n\n"
        "## Through the store: inputs, corpus and attribute set all on the server\n\n"
        "The plain JSONL input. `ingest`: `s3://` inputs to an `s3://` corpus against local to local; `signals`: "
        "that corpus to an `s3://` attribute set against local to local. Same documents and same signal values "
        "on both sides (checked). Tasks: the ingest's splits, the signals' shards. Uploaded: PUT and POST bodies "
        "(the split cache under `_work/`, shards, parts, manifests).\n\n"
        f"{store}\n\nMachine: {m['cpu_model']}, {m['nproc']} CPUs, {m['memory_gib']} GiB.\n"
    )


if __name__ == "__main__":
    main()
