"""``curate validate``: train proxies on each training set at equal tokens and compare held-out bpb.

One MLflow parent run, a child per proxy (training set x seed) with its bits-per-byte curve on every
held-out set, logged when the proxy finishes. The proxies train as populations (``train_population``):
several at once in one batched model, each exactly as it would alone. ``--out`` receives ``table.md``,
``curves.png``, ``tokenizer.json`` for a BPE, the proxies' checkpoints under ``proxies/`` (a rerun resumes
unfinished proxies and reuses finished ones), and ``results.json``, written last.

``--out`` may be a URL (``s3://...``, any fsspec URL; ``curation.staged_folder``): the validation writes a
local staging folder and uploads from it. Each proxy's folder is mirrored to ``URL/proxies/NAME-seedN/``
as training writes a checkpoint there (its ``latest.json`` last, then the older step folder deleted) and
again when the proxy finishes (its ``final/`` model, ``config.json`` last). A validation started again
with the same URL, on any machine, first downloads ``URL/proxies/`` and so resumes unfinished proxies and
reuses finished ones as it does from a local ``--out``. The other files are uploaded at the end,
``results.json`` last (an earlier one is deleted first): a URL with ``results.json`` is a finished validation.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.errors import ConfigError
from curation.proxy.text_source import TextSource, parse_named, read_text_source, text_hash

if TYPE_CHECKING:
    from curation.staged_folder import StagedFolder

RESULTS_FORMAT = "curation.validation/v1"
RESULTS_FILE = "results.json"  # written last: the mark of a finished validation
PROXIES_DIR = "proxies"
RANDOM_BASELINE = "random"
# Training text read per set, in bytes per budget token: enough that no set repeats for lack of text
# it has, while a huge corpus is sampled rather than loaded whole.
TRAIN_BYTES_PER_TOKEN = 4


@dataclass(frozen=True)
class ValidateConfig:
    train: list[str]
    heldout: list[str]
    out: str
    tokens: int
    seeds: int = 3
    random_baseline: str | None = None  # a pool to draw the uniform random baseline from
    baseline: str | None = None  # the set token savings are measured against
    size: str = "small"
    seq_len: int | None = None
    batch_size: int = 16
    lr: float | None = None  # None: the preset's (curation.proxy.config.validation_lr)
    evaluations: int = 10
    heldout_bytes: int = 250_000
    tokenizer: str = "bytes"
    device: str = "auto"
    members_per_batch: int | None = None  # proxies trained as one batched model; None: chosen for the machine

    def train_names(self) -> list[str]:
        names = [parse_named(spec)[0] for spec in self.train]
        return names + ([RANDOM_BASELINE] if self.random_baseline else [])

    def peak_lr(self) -> float:
        from curation.proxy.config import validation_lr

        return self.lr if self.lr is not None else validation_lr(self.size)

    def baseline_name(self) -> str:
        return self.baseline or (RANDOM_BASELINE if self.random_baseline else self.train_names()[0])

    def check(self) -> None:
        from curation.proxy.config import preset

        names = self.train_names()
        if not names:
            raise ConfigError("nothing to train on: give --train NAME=CORPUS and/or --random-baseline POOL")
        if len(set(names)) != len(names):
            raise ConfigError(f"training set names must be unique, got {names}")
        heldout_names = [parse_named(spec)[0] for spec in self.heldout]
        if not heldout_names:
            raise ConfigError("give at least one --heldout set")
        if len(set(heldout_names)) != len(heldout_names):
            raise ConfigError(f"held-out set names must be unique, got {heldout_names}")
        if self.baseline_name() not in names:
            raise ConfigError(f"--baseline {self.baseline_name()!r} is not one of the training sets {names}")
        if self.seeds < 1:
            raise ConfigError("--seeds must be at least 1")
        if self.lr is not None and self.lr <= 0:
            raise ConfigError("--lr must be positive")
        if self.members_per_batch is not None and self.members_per_batch < 1:
            raise ConfigError("--members-per-batch must be at least 1")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"--device must be auto, cpu or cuda, not {self.device!r}")
        preset(self.size)


@dataclass
class ValidationResult:
    out: Path | str  # the URL of a validation on an object store
    results: dict[str, Any]


def _model_config(cfg: ValidateConfig, vocab_size: int):
    from dataclasses import replace

    from curation.proxy.config import preset

    model = preset(cfg.size).with_vocab(vocab_size)
    return replace(model, seq_len=cfg.seq_len) if cfg.seq_len else model


def _without_heldout(train: TextSource, heldout_hashes: set[str]) -> tuple[TextSource, int]:
    """The training set minus any document that is also held out (a proxy must not train on its test text)."""
    kept = [text for text in train.texts if text_hash(text) not in heldout_hashes]
    if not kept:
        raise ConfigError(f"training set {train.name!r}: every document is also in a held-out set")
    removed = len(train.texts) - len(kept)
    return TextSource(train.name, train.path, kept, train.skipped), removed


class ProxyProgress:
    """One bar for all proxies on a terminal, counting every member's steps; a line per member evaluation."""

    def __init__(self, console, labels: list[str], steps_per_proxy: int):
        self.console, self.labels = console, labels
        self._bar = None
        if console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.fields[batch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=console,
            )
            total = steps_per_proxy * len(labels)
            self._task = self._bar.add_task("proxies", total=total, info="", batch=f"{len(labels)} proxies")

    def __enter__(self) -> ProxyProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, kind, *exc) -> None:
        if self._bar:
            if kind is None:  # done: proxies resumed or reused never stepped through the bar
                self._bar.update(self._task, completed=self._bar.tasks[0].total)
            self._bar.stop()

    def step(self, step: int, steps: int, losses: list[float]) -> None:
        if self._bar:
            info = f"{len(losses)} in batch, mean loss {statistics.fmean(losses):.3f}"
            self._bar.update(self._task, advance=len(losses), info=info)

    def evaluated(self, member: int, point: dict[str, Any]) -> None:
        scores = ", ".join(f"{name} {value:.3f}" for name, value in point["bpb"].items())
        line = f"{self.labels[member]}: {point['tokens']:,} tokens, held-out bpb {scores}"
        if self._bar:
            self._bar.console.print(line, highlight=False)
        else:
            self.console.print(line, highlight=False)


class ProxySync:
    """Keeps each proxy's folder at a URL ``--out`` as resumable as the staging copy: mirrors it when
    training has written a new checkpoint (``latest.json`` changed) and when the proxy finishes. Nothing to
    do for a local ``--out``."""

    def __init__(self, folder: StagedFolder, proxies: list[str]):
        self.folder, self.proxies = folder, proxies  # proxy folders relative to --out
        self.pointers = {name: self._pointer(name) for name in proxies} if folder.remote else {}

    def _pointer(self, proxy: str) -> bytes | None:
        from curation.proxy.checkpoint import LATEST_FILE

        try:
            return (self.folder.local / proxy / LATEST_FILE).read_bytes()
        except FileNotFoundError:
            return None

    def checkpointed(self) -> None:
        """Mirror the proxies whose checkpoint changed since the last look (called after each step). The
        checkpoint of step 0 (the initial evaluation) is not worth an upload: resuming from it is starting over."""
        from curation.proxy.checkpoint import LATEST_FILE

        if not self.folder.remote:
            return
        for proxy in self.proxies:
            pointer = self._pointer(proxy)
            if pointer is not None and pointer != self.pointers[proxy] and _checkpoint_step(pointer) > 0:
                self.folder.mirror(proxy, last=f"{proxy}/{LATEST_FILE}")
                self.pointers[proxy] = pointer

    def finished(self, index: int, reused: bool) -> None:
        """Mirror a finished proxy: its final model, ``config.json`` last; its checkpoint goes."""
        from curation.proxy.checkpoint import CONFIG_FILE
        from curation.proxy.train import FINAL_DIR

        if self.folder.remote and not reused:
            proxy = self.proxies[index]
            self.folder.mirror(proxy, last=f"{proxy}/{FINAL_DIR}/{CONFIG_FILE}")
            self.pointers[proxy] = None


def _checkpoint_step(pointer: bytes) -> int:
    """The step of the checkpoint a ``latest.json`` names (``{"checkpoint": "step-00000012"}``)."""
    return int(json.loads(pointer)["checkpoint"].rpartition("-")[2])


def _summarise(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _aggregate(curves: dict[str, dict[int, list[dict]]], heldout: list[str], baseline: str) -> dict:
    from curation.validate.savings import token_savings

    def mean_curve(runs: dict[int, list[dict]], h: str) -> tuple[list[float], list[float]]:
        first = next(iter(runs.values()))
        tokens = [p["tokens"] for p in first]
        values = [statistics.fmean(run[i]["bpb"][h] for run in runs.values()) for i in range(len(first))]
        return tokens, values

    table: dict[str, dict[str, Any]] = {}
    for name, runs in curves.items():
        table[name] = {}
        for h in heldout:
            finals = {str(seed): run[-1]["bpb"][h] for seed, run in runs.items()}
            mean, std = _summarise(list(finals.values()))
            savings = token_savings(*mean_curve(runs, h), *mean_curve(curves[baseline], h))
            table[name][h] = {
                "final_bpb": finals,
                "mean": mean,
                "std": std,
                "is_baseline": name == baseline,
                "baseline_final_bpb": savings.target_bpb,
                "tokens_to_baseline": savings.tokens_needed,
                "fraction_of_tokens": savings.fraction,
                "token_savings": savings.savings,
            }
    return table


def run_validate(cfg: ValidateConfig, tracking: bool = True, overwrite: bool = False, console=None) -> ValidationResult:
    import torch
    from rich.console import Console

    from curation.corpus import write_json_atomic
    from curation.proxy.config import TrainConfig
    from curation.proxy.packing import pack_documents
    from curation.proxy.tokenizer import tokenizer_from_option
    from curation.proxy.train import default_device
    from curation.proxy.train_population import PopulationMember, train_population
    from curation.staged_folder import StagedFolder
    from curation.tracking import stage_run
    from curation.validate.report import comparison_table, plot_curves, write_text_atomic

    console = console or Console(stderr=True)
    cfg.check()
    folder = StagedFolder(cfg.out, RESULTS_FILE, "pass --out URL as a string")
    folder.check_writable()  # a missing bucket, denied access: one line, before any work
    shown = folder.location if folder.remote else Path(cfg.out)  # --out as the messages and the result name it
    out = folder.local if folder.remote else Path(cfg.out)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    device = default_device() if cfg.device == "auto" else torch.device(cfg.device)

    # Everything is read before any training, so a bad path fails fast.
    heldout = {src.name: src for src in (read_text_source(s, cfg.heldout_bytes, seed=0) for s in cfg.heldout)}
    train_bytes = cfg.tokens * TRAIN_BYTES_PER_TOKEN
    named = {src.name: src for src in (read_text_source(s, train_bytes, seed=0) for s in cfg.train)}
    random_bytes = max((src.num_bytes for src in named.values()), default=train_bytes)
    randoms: dict[int, TextSource] = {}
    if cfg.random_baseline:
        pool = parse_named(cfg.random_baseline)[1]
        for seed in range(cfg.seeds):
            randoms[seed] = read_text_source(f"{RANDOM_BASELINE}={pool}", random_bytes, seed=1000 + seed)

    heldout_hashes = {text_hash(t) for src in heldout.values() for t in src.texts}
    overlaps: dict[str, int] = {}
    for name in list(named):
        named[name], overlaps[name] = _without_heldout(named[name], heldout_hashes)
    for seed in list(randoms):
        randoms[seed], removed = _without_heldout(randoms[seed], heldout_hashes)
        overlaps[RANDOM_BASELINE] = overlaps.get(RANDOM_BASELINE, 0) + removed
    for name, count in overlaps.items():
        if count:
            console.print(f"warning: removed {count} documents of training set {name!r} that are also held out")

    if overwrite:
        if (out / PROXIES_DIR).exists():
            shutil.rmtree(out / PROXIES_DIR)
        folder.remove_tree(PROXIES_DIR)
    folder.pull(PROXIES_DIR)  # a URL: its proxies' checkpoints and finished models, to resume from
    out.mkdir(parents=True, exist_ok=True)
    training_texts = [t for src in [*named.values(), *randoms.values()] for t in src.texts]
    tokenizer = tokenizer_from_option(cfg.tokenizer, training_texts)
    tokenizer.save(out)
    model_cfg = _model_config(cfg, tokenizer.vocab_size)
    pack = lambda texts: pack_documents(  # noqa: E731
        tokenizer.encode_batch(texts), model_cfg.seq_len, tokenizer.eod_id, tokenizer.pad_id, tokenizer.token_bytes()
    )
    heldout_packed = {name: pack(src.texts) for name, src in heldout.items()}

    def source_for(name: str, seed: int) -> TextSource:
        return randoms[seed] if name not in named else named[name]

    params = {
        **asdict(cfg),
        "lr": cfg.peak_lr(),
        "model": model_cfg.to_dict(),
        "tokenizer": tokenizer.name,
        "device": str(device),
    }
    runs = [(name, seed) for name in cfg.train_names() for seed in range(cfg.seeds)]
    labels = [f"{name} seed {seed}" for name, seed in runs]
    packed = {name: pack(src.texts) for name, src in named.items()}  # the same rows for every seed of a set
    members = [
        PopulationMember(
            packed[name] if name in named else pack(randoms[seed].texts),
            seed,
            out / proxy_dir(name, seed),
        )
        for name, seed in runs
    ]
    sync = ProxySync(folder, [proxy_dir(name, seed) for name, seed in runs])
    train_cfg = TrainConfig(tokens=cfg.tokens, batch_size=cfg.batch_size, lr=cfg.peak_lr(), evaluations=cfg.evaluations)
    tokens_per_step = train_cfg.batch_size * model_cfg.seq_len
    curves: dict[str, dict[int, list[dict]]] = {name: {} for name in cfg.train_names()}
    with stage_run("validate", params, enabled=tracking) as run:
        run.log_inputs([parse_named(spec)[1] for spec in cfg.train], context="training")
        children: dict[str, str | None] = {}

        def member_done(index: int, result) -> None:
            """A child run per proxy, with its whole curve, as soon as it has finished."""
            name, seed = runs[index]
            sync.finished(index, reused=result.resumed_from == result.steps)
            source = source_for(name, seed)
            child_params = {"training_set": name, "seed": seed, "documents": len(source.texts), "path": source.path}
            with run.child(f"proxy {labels[index]}", child_params) as child:
                for point in result.curve:
                    metrics = {f"bpb.{h}": v for h, v in point["bpb"].items()}
                    if point["train_loss"] is not None:
                        metrics["train_loss"] = point["train_loss"]
                    child.log_metrics(metrics, step=point["tokens"])
                if result.resumed_from == result.steps:
                    console.print(
                        f"{labels[index]}: finished earlier, reused from {shown}/{PROXIES_DIR}", highlight=False
                    )
                elif result.seconds > 0:
                    trained = (result.steps - result.resumed_from) * tokens_per_step
                    child.log_metrics({"tokens_per_second": trained / result.seconds})
                children[labels[index]] = child.run_id
            curves[name][seed] = result.curve

        with ProxyProgress(console, labels, train_cfg.steps(model_cfg.seq_len)) as progress, folder.errors_named():

            def stepped(step: int, steps: int, losses: list[float]) -> None:
                progress.step(step, steps, losses)
                sync.checkpointed()  # a checkpoint written at the step before: to the URL

            train_population(
                model_cfg,
                train_cfg,
                members,
                heldout_packed,
                tokenizer,
                device=device,
                per_batch=cfg.members_per_batch,
                on_step=stepped,
                on_eval=progress.evaluated,
                on_member_done=member_done,
            )
        curves = {name: dict(sorted(by_seed.items())) for name, by_seed in curves.items()}

        baseline = cfg.baseline_name()
        table = _aggregate(curves, list(heldout), baseline)
        results = {
            "format": RESULTS_FORMAT,
            "config": {**asdict(cfg), "lr": cfg.peak_lr()},
            "model": {"size": cfg.size, "parameters": model_cfg.num_parameters, **model_cfg.to_dict()},
            "tokenizer": {"name": tokenizer.name, **tokenizer.describe()},
            "device": str(device),
            "tokens": curves[baseline][0][-1]["tokens"],
            "seeds": list(range(cfg.seeds)),
            "baseline": baseline,
            "train_sets": {
                name: {
                    "path": source_for(name, 0).path,
                    "documents": len(source_for(name, 0).texts),
                    "bytes": source_for(name, 0).num_bytes,
                    "heldout_documents_removed": overlaps.get(name, 0),  # over all seeds for the random baseline
                    "resampled_per_seed": name not in named,
                }
                for name in cfg.train_names()
            },
            "heldout": {
                name: {"path": src.path, "documents": len(src.texts), "bytes": heldout_packed[name].num_bytes}
                for name, src in heldout.items()
            },
            "results": table,
            "curves": {name: {str(seed): curve for seed, curve in runs.items()} for name, runs in curves.items()},
            "mlflow": {"parent_run_id": run.run_id, "child_run_ids": children},
        }
        write_text_atomic(out / "table.md", comparison_table(results))
        plot_curves(results, out / "curves.png")
        write_json_atomic(out / RESULTS_FILE, results)
        folder.remove(RESULTS_FILE)  # a URL: an earlier validation's, so new files never sit beside it
        folder.publish(skip=(f"{PROXIES_DIR}/",))  # the proxies were mirrored as they trained
        for h in heldout:
            for name in table:
                entry = table[name][h]
                metrics = {f"final_bpb.{name}.{h}": entry["mean"]}
                if entry["token_savings"] is not None and not entry["is_baseline"]:
                    metrics[f"token_savings.{name}.{h}"] = entry["token_savings"]
                run.log_metrics(metrics)
        for artifact in (RESULTS_FILE, "table.md", "curves.png"):
            run.log_artifact(out / artifact)
    print(f"validation written to {shown}", file=sys.stderr)
    return ValidationResult(shown, results)


def proxy_dir(name: str, seed: int) -> str:
    """The folder of a training set's proxy of one seed, relative to ``--out``."""
    return f"{PROXIES_DIR}/{name}-seed{seed}"
