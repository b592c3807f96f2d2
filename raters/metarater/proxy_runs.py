"""One proxy LM per sampled weighting: keep the top share of documents by the weighted score, train a small
proxy on them with a fixed token budget, record its held-out loss (mean bits per byte over the held-out
sets). These (weights, loss) pairs are what the regression learns from.

Every run uses the same proxy initialisation and batch order (``seed``), and draws the text it trains on from
its selection in one fixed per-document order (``training_sample``): the only thing that varies between runs
is the data the weights select, so differences in loss are differences in data. Each finished run is
committed as ``runs/run-NNNNN.json`` (by rename), so a crash loses at most the runs in flight, and a rerun
reuses every finished run whose identity (weights, data, settings) is unchanged.

Runs are trained as proxy populations (``curation.proxy.train_population``): a batch of runs is one batched
model, each run ending as it would alone. Batches go to a pool of worker processes (``workers``), each with
``max(1, cpus // workers)`` torch threads; how many runs a batch holds is chosen for the machine
(``members_per_batch``, overridable).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError

# v2: a run trains on its selection's documents taken in one fixed per-document priority order (v1 took a
# permutation of the selection's positions, so near-identical selections trained on unrelated samples).
RUN_FORMAT = "curation.metarater-run/v2"
# Training text packed per run, in bytes per budget token (as in validation): enough that a run does not
# repeat text for lack of it, while a huge selection is sampled rather than packed whole.
TRAIN_BYTES_PER_TOKEN = 4


@dataclass(frozen=True)
class ProxyRunSettings:
    size: str = "tiny"  # proxy preset
    tokens: int = 200_000  # training tokens per run
    top_fraction: float = 0.15  # paper: the top 15% by weighted score
    batch_size: int = 16
    lr: float | None = None  # None: the preset's, as curate validate's (3e-3 for tiny; small spiked at it)
    seq_len: int | None = None
    seed: int = 0  # proxy initialisation and batch order, the same for every run

    def __post_init__(self) -> None:
        if self.lr is None:  # resolved here, so a run's identity names the rate it trained at
            from curation.proxy.config import validation_lr

            object.__setattr__(self, "lr", validation_lr(self.size))

    def check(self) -> None:
        from curation.proxy.config import preset

        preset(self.size)
        if not 0 < self.top_fraction <= 1:
            raise ConfigError(f"--top-fraction must be in (0, 1], not {self.top_fraction}")
        if self.tokens < 1:
            raise ConfigError("--tokens must be positive")


def top_documents(scaled: np.ndarray, weights: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ``fraction`` of documents with the highest weighted score, best first (ties: corpus order)."""
    score = scaled.astype(np.float64) @ np.asarray(weights, dtype=np.float64)
    count = max(1, int(round(fraction * len(score))))
    return np.argsort(-score, kind="stable")[:count]


def run_identity(weights: np.ndarray, settings: ProxyRunSettings, data_fingerprint: str) -> str:
    payload = {
        "weights": [round(float(w), 12) for w in weights],
        "settings": asdict(settings),
        "data": data_fingerprint,
        "format": RUN_FORMAT,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def run_path(runs_dir: Path, index: int) -> Path:
    return runs_dir / f"run-{index:05d}.json"


def load_finished_run(runs_dir: Path, index: int, identity: str) -> dict[str, Any] | None:
    path = run_path(runs_dir, index)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record if record.get("identity") == identity else None


# --- worker side -------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(texts: list[str], n_bytes: np.ndarray, scaled: np.ndarray, heldout: dict, settings, threads: int):
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(texts=texts, n_bytes=n_bytes, scaled=scaled, heldout=heldout, settings=settings)


def run_model_config(settings: ProxyRunSettings, vocab_size: int):
    """The proxy shape every run trains."""
    from dataclasses import replace

    from curation.proxy.config import preset

    model_cfg = preset(settings.size).with_vocab(vocab_size)
    return replace(model_cfg, seq_len=settings.seq_len) if settings.seq_len else model_cfg


def _pack(tokenizer, texts: list[str], seq_len: int):
    from curation.proxy.packing import pack_documents

    return pack_documents(
        tokenizer.encode_batch(texts), seq_len, tokenizer.eod_id, tokenizer.pad_id, tokenizer.token_bytes()
    )


def training_sample(chosen: np.ndarray, n_bytes: np.ndarray, priority: np.ndarray, allowance: int) -> np.ndarray:
    """The documents of a selection a run trains on: the selection taken in the pool-wide ``priority`` order
    (one fixed random rank per document), up to ``allowance`` bytes.

    The sample is a function of the selected *set* only: two weightings that select the same documents train
    on the same text, and selections that differ by a few documents train on samples that differ by about as
    few. This keeps the run-to-run differences in loss about the data the weights choose, not about which
    arbitrary part of it was drawn, which is what the regression needs (common random numbers).
    """
    ordered = chosen[np.argsort(priority[chosen], kind="stable")]
    return ordered[np.cumsum(n_bytes[ordered]) - n_bytes[ordered] < allowance]


def document_priority(count: int, seed: int) -> np.ndarray:
    """One seeded random rank per pool document (a permutation of ``range(count)``)."""
    return np.random.default_rng(seed).permutation(count)


def _training_documents(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The run's selection (top share by weighted score) and the part of it that fits the allowance."""
    settings: ProxyRunSettings = _WORKER["settings"]
    n_bytes = _WORKER["n_bytes"]
    if "priority" not in _WORKER:
        _WORKER["priority"] = document_priority(len(n_bytes), settings.seed)
    chosen = top_documents(_WORKER["scaled"], weights, settings.top_fraction)
    taken = training_sample(chosen, n_bytes, _WORKER["priority"], settings.tokens * TRAIN_BYTES_PER_TOKEN)
    return chosen, taken


def train_runs(jobs: list[tuple[int, np.ndarray, str]], runs_dir: str) -> list[dict[str, Any]]:
    """Train the proxies of ``jobs`` (index, weights, identity) as one population (in a worker) and commit a
    record per run; returns the records. Every run uses the same seed: only the data differs."""
    from curation.corpus import write_json_atomic
    from curation.proxy.config import TrainConfig
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.proxy.train_population import PopulationMember, train_population

    settings: ProxyRunSettings = _WORKER["settings"]
    started = time.perf_counter()
    tokenizer = ByteTokenizer()
    model_cfg = run_model_config(settings, tokenizer.vocab_size)
    if "heldout_packed" not in _WORKER:  # the same held-out text for every run: packed once per worker
        _WORKER["heldout_packed"] = {
            name: _pack(tokenizer, held, model_cfg.seq_len) for name, held in _WORKER["heldout"].items()
        }
    selections = [_training_documents(weights) for _, weights, _ in jobs]
    members = [
        PopulationMember(_pack(tokenizer, [_WORKER["texts"][i] for i in taken], model_cfg.seq_len), settings.seed)
        for _, taken in selections
    ]
    train_cfg = TrainConfig(
        tokens=settings.tokens, batch_size=settings.batch_size, lr=settings.lr, evaluations=1, seed=settings.seed
    )
    results = train_population(
        model_cfg,
        train_cfg,
        members,
        _WORKER["heldout_packed"],
        tokenizer,
        per_batch=len(jobs),
        initial_evaluation=False,
    )
    seconds = (time.perf_counter() - started) / len(jobs)  # each run's share of the population's time
    records = []
    for (index, weights, identity), (chosen, taken), result in zip(jobs, selections, results, strict=True):
        bpb = result.final_bpb
        record = {
            "format": RUN_FORMAT,
            "index": index,
            "identity": identity,
            "weights": [float(w) for w in weights],
            "loss": float(np.mean(list(bpb.values()))),
            "bpb": bpb,
            "documents_selected": int(len(chosen)),
            "documents_trained": int(len(taken)),
            "tokens": int(result.tokens),
            "seconds": round(seconds, 3),
            "population": len(jobs),
        }
        write_json_atomic(run_path(Path(runs_dir), index), record)
        records.append(record)
    return records


# --- driver side -------------------------------------------------------------------------------------------
def run_proxies(
    weights: np.ndarray,
    texts: list[str],
    n_bytes: np.ndarray,
    scaled: np.ndarray,
    heldout: dict[str, list[str]],
    settings: ProxyRunSettings,
    data_fingerprint: str,
    runs_dir: Path,
    workers: int = 1,
    on_done: Callable[[dict[str, Any], bool], None] | None = None,
    members_per_batch: int | None = None,
) -> list[dict[str, Any]]:
    """A record per row of ``weights`` (finished runs reused); ``on_done(record, reused)`` as each arrives.

    Pending runs train as populations of ``members_per_batch`` proxies (default: chosen for the machine by
    ``curation.proxy.population.members_per_batch``), one population at a time per worker.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    runs_dir.mkdir(parents=True, exist_ok=True)
    records: dict[int, dict[str, Any]] = {}
    pending: list[tuple[int, str]] = []
    for index, row in enumerate(weights):
        identity = run_identity(row, settings, data_fingerprint)
        finished = load_finished_run(runs_dir, index, identity)
        if finished is not None:
            records[index] = finished
            if on_done:
                on_done(finished, True)
        else:
            pending.append((index, identity))
    if pending:
        threads = threads_per_worker(workers)
        args = (texts, n_bytes, scaled, heldout, settings, threads)
        size = members_per_batch or _default_members_per_batch(settings, len(pending))
        chunks = [
            [(index, weights[index], identity) for index, identity in pending[i : i + size]]
            for i in range(0, len(pending), size)
        ]

        def arrived(chunk_records: list[dict[str, Any]]) -> None:
            for record in chunk_records:
                records[record["index"]] = record
                if on_done:
                    on_done(record, False)

        if workers == 1:
            import torch

            driver_threads = torch.get_num_threads()
            _init_worker(*args)
            try:
                for chunk in chunks:
                    arrived(train_runs(chunk, str(runs_dir)))
            finally:
                torch.set_num_threads(driver_threads)
                _WORKER.clear()
        else:
            # spawn, not fork: the driver may hold torch/OpenMP threads and a JVM, which fork would copy badly.
            with ProcessPoolExecutor(
                workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=args
            ) as pool:
                futures = [pool.submit(train_runs, chunk, str(runs_dir)) for chunk in chunks]
                for future in as_completed(futures):
                    arrived(future.result())
    return [records[i] for i in range(len(weights))]


def threads_per_worker(workers: int) -> int:
    """Torch threads for each of ``workers`` processes: the machine's cores shared out, and never more than
    ``OMP_NUM_THREADS`` where the user set it (a fixed thread count keeps float sums in one order)."""
    share = max(1, (os.cpu_count() or 1) // workers)
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(share, int(limit)) if limit.isdigit() and int(limit) > 0 else share


def _default_members_per_batch(settings: ProxyRunSettings, runs: int) -> int:
    from curation.proxy.population import members_per_batch
    from curation.proxy.tokenizer import ByteTokenizer
    from curation.proxy.train import default_device

    model_cfg = run_model_config(settings, ByteTokenizer().vocab_size)
    return members_per_batch(model_cfg, settings.batch_size, default_device(), runs)
