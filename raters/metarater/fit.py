"""``curate metarater fit``: the whole Meta-rater procedure on a scored corpus.

1. Read the corpus's quality scores (attribute sets) and scale each to [0, 5] (``scaling``).
2. Draw ``runs`` weight vectors from a symmetric Dirichlet (paper: 256, alpha 1).
3. For each, train a proxy on the top 15% of documents by weighted score and record its held-out loss
   (``proxy_runs``; a child MLflow run each; finished runs survive a crash and are reused).
4. Fit a regressor weights -> loss (LightGBM, the paper's, or ``linear``) on 80% of the runs, report Spearman
   on the other 20% (``regression``), the same Spearman for growing subsets of the runs (how the regression
   improves with N), and both regressors' cross-validated Spearman on the same runs.
5. Predict the loss of ``candidates`` Dirichlet draws, average the ``top_candidates`` best (``search``).
6. Not in the paper: train a few finalists (the search's answer, the best single scores, the best observed
   runs) again with ``confirm_seeds`` fresh proxy seeds and answer with the lowest mean loss (``confirm``);
   ``confirm_seeds=0`` keeps the search's answer, as the paper does.

``--out`` receives ``runs/`` (one JSON per proxy run), ``regressor.txt`` (LightGBM text format) or
``regressor.json`` (linear),
``weights.png``, ``report.md`` and ``weights.json`` (final weights, scaling, provenance of every score,
regression and search figures), written last: a directory with ``weights.json`` is a finished fit.
Proxies train on a seeded sample of at most ``max_documents`` documents; the scaling bounds use them all.

``--out`` may be a URL (``s3://...``, any fsspec URL; ``curation.staged_folder``): the fit writes a local
staging folder and uploads from it. Each proxy run's JSON is uploaded to ``URL/runs/`` (or
``URL/runs-reliability/``) as soon as the run has finished, so the URL holds every finished run, as a local
``runs/`` does. A fit started again with the same URL, on any machine, first downloads ``runs/`` and
``runs-reliability/`` and reuses every run whose identity is unchanged: a killed fit loses at most the runs
in flight. The other files are uploaded at the end, ``weights.json`` last; ``--overwrite`` deletes the URL's
``weights.json`` and regressor before any training, and the runs beyond ``runs``. ``curate metarater
select`` reads a fit from a URL (only its ``weights.json``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from curation.errors import ConfigError
from curation.proxy.text_source import text_hash
from raters.metarater.proxy_runs import ProxyRunSettings
from raters.metarater.regression import REGRESSORS, RegressionSettings
from raters.metarater.reliability import LOW_RELIABILITY

if TYPE_CHECKING:
    from curation.staged_folder import StagedFolder

FIT_FORMAT = "curation.metarater-fit/v1"
WEIGHTS_FILE = "weights.json"
RUNS_DIR = "runs"
REGRESSOR_FILES = ("regressor.txt", "regressor.json")
REGRESSOR_NAMES = {"lightgbm": "LightGBM", "linear": "linear (ridge)"}
# Spearman of the regression is also reported when fitted on the first n runs, for these n (and N itself).
LEARNING_CURVE_RUNS = (16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class MetaraterConfig:
    runs: int = 64  # paper: 256
    alpha: float = 1.0  # paper: 1; below 1, weightings put most weight on a few scores (sparser)
    candidates: int = 1_000_000  # paper: 1,000,000
    top_candidates: int = 128  # paper: 128
    classifier_output: str = "argmax"  # paper: the argmax class
    max_documents: int = 100_000
    heldout_bytes: int = 100_000  # the same held-out text for every run: no sampling noise between runs
    seed: int = 0
    workers: int = 1
    members_per_batch: int | None = None  # proxy runs trained as one batched model; None: chosen for the machine
    # The first N weightings are trained again with the next proxy seed, to measure how much of a run's loss
    # is about its data (raters.metarater.reliability); 0 skips it. Not in the paper.
    reliability_runs: int = 8
    # Finalists trained again with this many fresh proxy seeds; the lowest mean loss is the answer
    # (raters.metarater.confirm). 0: the search's answer, as in the paper. Not in the paper.
    confirm_seeds: int = 3
    confirm_singles: int = 2  # finalists among the scores alone, by one run per score
    confirm_observed: int = 2  # finalists among the fit's proxy runs, by their loss
    proxy: ProxyRunSettings = field(default_factory=ProxyRunSettings)
    regression: RegressionSettings = field(default_factory=RegressionSettings)

    def check(self) -> None:
        from raters.metarater.regression import check_model, check_run_count

        check_model(self.regression.model)
        check_run_count(self.runs, self.regression.valid_fraction)
        if self.candidates < self.top_candidates or self.top_candidates < 1:
            raise ConfigError("--candidates must be at least --top-candidates, which must be at least 1")
        if not self.alpha > 0:
            raise ConfigError(f"--alpha must be > 0, not {self.alpha}")
        if self.max_documents < 10:
            raise ConfigError("--max-documents must be at least 10")
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.members_per_batch is not None and self.members_per_batch < 1:
            raise ConfigError("--members-per-batch must be at least 1")
        if not 0 <= self.reliability_runs <= self.runs or self.reliability_runs == 1:
            raise ConfigError("--reliability-runs must be 0, or between 2 and --runs")
        if min(self.confirm_seeds, self.confirm_singles, self.confirm_observed) < 0:
            raise ConfigError("--confirm-seeds, --confirm-singles and --confirm-observed must be 0 or more")
        if self.confirm_observed > self.runs:
            raise ConfigError(f"--confirm-observed ({self.confirm_observed}) must be at most --runs ({self.runs})")
        self.proxy.check()


def metarater_config(settings: dict[str, Any]) -> MetaraterConfig:
    """A config from a mapping (a pipeline file's ``metarater.settings``); ``proxy`` and ``regression`` are
    mappings of their own; ``proxy.tokens`` may be written like ``200k``. Unknown keys are refused."""
    from curation.proxy.config import parse_token_count

    def build(kind, values: Any, where: str):
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: expected a mapping of settings")
        unknown = sorted(set(values) - set(kind.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {unknown}")
        return values

    top = dict(build(MetaraterConfig, settings, "metarater.settings"))
    proxy = dict(build(ProxyRunSettings, top.pop("proxy", {}), "metarater.settings.proxy"))
    if isinstance(proxy.get("tokens"), str):
        proxy["tokens"] = parse_token_count(proxy["tokens"])
    regression = build(RegressionSettings, top.pop("regression", {}), "metarater.settings.regression")
    try:
        cfg = MetaraterConfig(**top, proxy=ProxyRunSettings(**proxy), regression=RegressionSettings(**regression))
    except TypeError as exc:
        raise ConfigError(f"metarater.settings: {exc}") from None
    cfg.check()
    return cfg


@dataclass
class FitResult:
    out: Path | str  # the URL of a fit on an object store
    fit: dict[str, Any]


def sample_documents(corpus, table, max_documents: int, seed: int, heldout_hashes: set[str]):
    """Seeded sample of document indices (corpus order) and their texts, minus any held-out document."""
    from curation.corpus import read_parquet

    n = table.num_documents
    chosen = np.arange(n)
    if n > max_documents:
        chosen = np.sort(np.random.default_rng(seed).choice(n, max_documents, replace=False))
    texts: list[str] = []
    kept: list[int] = []
    start = 0
    for path, rows in zip(corpus.shard_paths, table.shard_rows, strict=True):
        local = chosen[(chosen >= start) & (chosen < start + rows)] - start
        if len(local):
            column = read_parquet(path, columns=["text"]).column("text").take(local).to_pylist()
            for offset, text in zip(local, column, strict=True):
                if text_hash(text) not in heldout_hashes:
                    texts.append(text)
                    kept.append(start + int(offset))
        start += rows
    return np.asarray(kept, dtype=np.int64), texts, len(chosen) - len(kept)


def _learning_curve(weights: np.ndarray, losses: np.ndarray, settings: RegressionSettings) -> list[dict[str, Any]]:
    from raters.metarater.regression import fit_regressor

    sizes = sorted({n for n in LEARNING_CURVE_RUNS if n < len(losses)} | {len(losses)})
    curve = []
    for n in sizes:
        try:
            metrics = fit_regressor(weights[:n], losses[:n], settings).metrics
        except ConfigError:
            continue
        curve.append(
            {key: metrics[key] for key in ("valid_spearman", "valid_spearman_ci95", "valid_mae")} | {"runs": n}
        )
    return curve


def _plot_weights(columns: list[str], weights: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(-weights)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(columns) + 1.2))
    ax.barh([columns[i] for i in order][::-1], weights[order][::-1], color="#4472c4")
    ax.set_xlabel("weight (sums to 1)")
    ax.set_title("Meta-rater weights")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)


def spearman_text(metrics: dict[str, Any]) -> str:
    """``0.412 [0.101, 0.655]``: the held-out Spearman and its bootstrap interval, where defined."""
    value, interval = metrics.get("valid_spearman"), metrics.get("valid_spearman_ci95")
    if value is None:
        return "undefined"
    return f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")


RELIABILITY_RUNS_DIR = "runs-reliability"


def _measure_reliability(weights, losses, inputs, cfg: MetaraterConfig, out: Path, on_done) -> dict | None:
    """The first ``cfg.reliability_runs`` weightings trained again with the next proxy seed; their ICC(1)."""
    from dataclasses import replace

    from raters.metarater.proxy_runs import run_proxies
    from raters.metarater.reliability import reliability_summary

    count = cfg.reliability_runs
    if count == 0:
        return None
    second_seed = cfg.proxy.seed + 1
    records = run_proxies(
        weights[:count], inputs.texts, inputs.n_bytes, inputs.scaled, inputs.heldout,
        replace(cfg.proxy, seed=second_seed), inputs.data_fingerprint, out / RELIABILITY_RUNS_DIR, cfg.workers,
        on_done, cfg.members_per_batch,
    )  # fmt: skip
    second = np.asarray([r["loss"] for r in records], dtype=np.float64)
    return reliability_summary(losses[:count], second, cfg.seed) | {
        "second_seed": second_seed,
        "second_losses": second.tolist(),
    }


def _reliability_text(reliability: dict[str, Any]) -> str:
    """One sentence: the runs' ICC(1), and what to do when it is low."""
    value, interval = reliability["icc1"], reliability["icc1_ci95"]
    shown = (
        "undefined"
        if value is None
        else f"{value:.2f}" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")
    )
    text = (
        f"{reliability['weightings']} weightings trained again with proxy seed {reliability['second_seed']}: "
        f"ICC(1) {shown} (the share of a run's loss variance that is about its data), spread between weightings "
        f"{reliability['between_sd']:.4f} bpb, within (run noise) {reliability['within_sd']:.4f} bpb."
    )
    if value is None or value < LOW_RELIABILITY:
        text += (
            " The runs' losses are mostly run noise, so the regression has little to learn from: make weightings "
            "differ more (a sparser --alpha, e.g. 0.2; a larger --top-fraction, e.g. 0.5), use a larger or "
            "steadier proxy (--size small, which trains at lr 1e-3) or more --tokens per run (docs/results.md measured these)."
        )
    return text


def _report(fit: dict[str, Any]) -> str:
    lines = [
        "# Meta-rater fit",
        "",
        f"{fit['runs']['count']} proxy runs, one per Dirichlet({fit['config'].get('alpha', 1.0):g}) weighting "
        f"({fit['config']['proxy']['size']} proxies, "
        f"{fit['config']['proxy']['tokens']:,} tokens each, top {100 * fit['config']['proxy']['top_fraction']:g}% of "
        f"{fit['documents']['sampled']:,} documents); held-out loss = mean bits per byte over "
        f"{', '.join(fit['heldout'])}.",
        "",
        "## Final weights",
        "",
        "| score | weight | scaled from | lower is better |",
        "|---|---|---|---|",
    ]
    for column, weight in sorted(fit["weights"].items(), key=lambda kv: -kv[1]):
        bounds = fit["scaling"][column]
        lines.append(
            f"| {column} | {weight:.4f} | [{bounds['min']:.4g}, {bounds['max']:.4g}] | {bounds['lower_is_better']} |"
        )
    regression = fit["regression"]
    model = regression.get("model", "lightgbm")
    detail = (
        f"{regression['best_iteration']} rounds"
        if model == "lightgbm"
        else f"ridge penalty {regression['penalty']:.3g}"
    )
    lines += [
        "",
        f"## Regression ({REGRESSOR_NAMES[model]}, weights -> held-out loss)",
        "",
        f"Spearman on the held-out {regression['valid_runs']} runs: {spearman_text(regression)}; mean absolute "
        f"error {regression['valid_mae']:.4f} bpb; {detail}.",
        "",
        "| runs used | held-out Spearman (95% bootstrap interval) |",
        "|---|---|",
    ]
    for point in fit["learning_curve"]:
        lines.append(f"| {point['runs']} | {spearman_text(point)} |")
    comparison = fit.get("regressor_comparison")
    if comparison:
        lines += [
            "",
            f"Both regressors on the same runs, {comparison['repeats']} × {comparison['folds']}-fold "
            "cross-validation (Spearman of out-of-fold predictions with the losses; mean ± SD over repeats):",
            "",
            "| regressor | cross-validated Spearman |",
            "|---|---|",
        ]
        for name in REGRESSORS:
            value, sd = comparison[name]["cv_spearman"], comparison[name]["cv_spearman_sd"]
            shown = "undefined" if value is None else f"{value:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")
            lines.append(f"| {REGRESSOR_NAMES[name]}{' (used)' if name == model else ''} | {shown} |")
    if fit.get("reliability"):
        lines += ["", "## How much of a run's loss is about its data", "", _reliability_text(fit["reliability"])]
    if fit.get("confirmation"):
        from raters.metarater.confirm import confirmation_text

        lines += ["", "## Confirmation", "", *confirmation_text(fit["confirmation"])]
    search = fit["search"]
    losses = fit["runs"]["losses"]
    lines += [
        "",
        "## Search",
        "",
        f"{search['candidates']:,} Dirichlet({fit['config'].get('alpha', 1.0):g}) candidates predicted in {search['seconds']:.2f} s; the "
        f"{search['top_candidates']} best (predicted loss {search['best_predicted_min']:.4f}–"
        f"{search['best_predicted_max']:.4f}) averaged. Observed proxy losses: best {min(losses):.4f}, "
        f"median {float(np.median(losses)):.4f}, worst {max(losses):.4f}.",
        "",
    ]
    return "\n".join(lines)


@dataclass
class ProxyInputs:
    """What every proxy run of a fit reads: the scores, the sampled documents' texts, the held-out sets."""

    corpus: Any
    table: Any  # raters.metarater.score_table.ScoreTable
    heldout: dict[str, list[str]]
    scaling: Any  # raters.metarater.scaling.ScoreScaling
    sampled: np.ndarray  # the rows of ``table`` proxies may train on (a seeded sample of at most max_documents)
    texts: list[str]  # their texts
    n_bytes: np.ndarray
    scaled: np.ndarray  # their scaled scores, one column per score
    heldout_removed: int  # sampled documents left out because a held-out set holds them
    data_fingerprint: str  # identifies all of the above; part of every run's identity


def load_proxy_inputs(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    heldout_specs: list[str],
    cfg: MetaraterConfig,
    columns: list[str] | None = None,
    lower_is_better: list[str] | None = None,
) -> ProxyInputs:
    """Read and check the corpus, the score table and the held-out sets; scale the scores and sample the
    documents proxies train on. Raises ``ConfigError`` before any training."""
    from curation.attributes import corpus_fingerprint
    from curation.corpus import Corpus
    from curation.proxy.text_source import read_text_source
    from raters.metarater.scaling import ScoreScaling
    from raters.metarater.score_table import load_score_table

    if not heldout_specs:
        raise ConfigError("give at least one --heldout set (the proxies' validation loss is measured on it)")
    corpus = Corpus.open(corpus_dir)
    table = load_score_table(
        corpus_dir,
        attribute_dirs,
        columns=columns,
        lower_is_better=lower_is_better,
        classifier_output=cfg.classifier_output,
    )
    if table.num_documents < 10:
        raise ConfigError(f"{corpus.root}: {table.num_documents} documents are too few to select the top share of")
    heldout = {src.name: src.texts for src in (read_text_source(s, cfg.heldout_bytes, seed=0) for s in heldout_specs)}
    if len(heldout) != len(heldout_specs):
        raise ConfigError("held-out set names must be unique (NAME=PATH)")
    scaling = ScoreScaling.measure(table.values, table.columns, table.lower_is_better)
    heldout_hashes = {text_hash(t) for texts in heldout.values() for t in texts}
    sampled, texts, removed = sample_documents(corpus, table, cfg.max_documents, cfg.seed, heldout_hashes)
    data_fingerprint = hashlib.sha256(
        json.dumps(
            {
                "corpus": corpus_fingerprint(corpus),
                "columns": table.columns,  # the order the weight vectors follow
                "scores": {c: table.sources[c]["config_hash"] for c in table.columns},
                "scaling": scaling.to_dict(),
                "sampled": hashlib.sha256(sampled.tobytes()).hexdigest(),
                "heldout": {n: hashlib.sha256("\0".join(t).encode()).hexdigest() for n, t in sorted(heldout.items())},
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    return ProxyInputs(
        corpus=corpus,
        table=table,
        heldout=heldout,
        scaling=scaling,
        sampled=sampled,
        texts=texts,
        n_bytes=table.n_bytes[sampled],
        scaled=scaling.apply(table.values[sampled]),
        heldout_removed=removed,
        data_fingerprint=data_fingerprint,
    )


def run_metarater_fit(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    heldout_specs: list[str],
    out_dir: str | Path,
    cfg: MetaraterConfig,
    *,
    columns: list[str] | None = None,
    lower_is_better: list[str] | None = None,
    tracking: bool = True,
    overwrite: bool = False,
    console=None,
) -> FitResult:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from curation.attributes import corpus_fingerprint
    from curation.corpus import write_json_atomic
    from curation.staged_folder import StagedFolder, folder_location
    from curation.tracking import stage_run
    from curation.validate.report import write_text_atomic
    from raters.metarater.confirm import CONFIRM_RUNS_DIR, SINGLE_RUNS_DIR, planned_runs, run_confirmation
    from raters.metarater.dirichlet import sample_weights
    from raters.metarater.proxy_runs import run_path, run_proxies
    from raters.metarater.regression import compare_regressors, fit_regressor
    from raters.metarater.search import best_weights

    console = console or Console(stderr=True)
    cfg.check()
    # Everything is read and checked before any training.
    inputs = load_proxy_inputs(corpus_dir, attribute_dirs, heldout_specs, cfg, columns, lower_is_better)
    corpus, table, heldout, scaling = inputs.corpus, inputs.table, inputs.heldout, inputs.scaling
    texts, n_bytes, scaled, removed = inputs.texts, inputs.n_bytes, inputs.scaled, inputs.heldout_removed
    data_fingerprint = inputs.data_fingerprint
    if removed:
        console.print(f"warning: left out {removed} sampled documents that are also held out", highlight=False)
    folder = StagedFolder(out_dir, WEIGHTS_FILE, "pass --out URL as a string")
    folder.check_writable()  # a missing bucket, denied access: one line, before any work
    out = folder.local  # --out itself (resolved), or the staging folder of a URL
    shown = folder.path  # --out as the messages, the parameters and the result name it
    finished = _finished_fit(folder)
    if finished is not None and not overwrite:
        if finished.get("data_fingerprint") == data_fingerprint and _same_settings(finished.get("config"), cfg):
            console.print(f"metarater fit: {shown} is already complete for these inputs and settings", highlight=False)
            return FitResult(shown, finished)
        raise ConfigError(
            f"{shown} holds a Meta-rater fit of other inputs or settings; pass --overwrite or another --out"
        )
    run_dirs = (RUNS_DIR, RELIABILITY_RUNS_DIR, SINGLE_RUNS_DIR, CONFIRM_RUNS_DIR)
    for runs_dir in run_dirs:
        folder.pull(runs_dir)  # a URL: its finished runs, to reuse
    if overwrite and out.exists():
        _discard_stale_outputs(folder, cfg)
    out.mkdir(parents=True, exist_ok=True)
    finished_path = out / WEIGHTS_FILE

    def upload_run(runs_dir: str, record: dict[str, Any], was_reused: bool) -> None:
        """A finished run's JSON to the URL at once, so a killed fit resumes from it."""
        if not was_reused:
            folder.upload([run_path(Path(runs_dir), record["index"]).as_posix()])

    weights = sample_weights(cfg.runs, len(table.columns), cfg.seed, cfg.alpha)
    params = {
        **_config_dict(cfg),
        "corpus": str(corpus.root),
        "attributes": [folder_location(d) for d in attribute_dirs],
        "columns": table.columns,
        "heldout": list(heldout),
        "out": str(shown),
    }
    console.print(
        f"metarater fit: {len(table.columns)} scores, {table.num_documents:,} documents "
        f"({len(texts):,} sampled for proxies), {cfg.runs} proxy runs on {cfg.workers} worker(s)",
        highlight=False,
    )
    with stage_run("metarater-fit", params, enabled=tracking) as run:
        child_ids: dict[int, str | None] = {}
        reused = [0]
        with Progress(
            TextColumn("proxy runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            total = cfg.runs + cfg.reliability_runs + planned_runs(len(table.columns), cfg)
            task = progress.add_task("runs", total=total)

            def on_done(record: dict[str, Any], was_reused: bool) -> None:
                upload_run(RUNS_DIR, record, was_reused)
                child_params = {"index": record["index"], **dict(zip(table.columns, record["weights"], strict=True))}
                with run.child(f"proxy run {record['index']}", child_params) as child:
                    metrics = {"loss": record["loss"], **{f"bpb.{h}": v for h, v in record["bpb"].items()}}
                    child.log_metrics({**metrics, "seconds": record["seconds"]})
                    if was_reused:
                        child.set_tags({"curation.reused": "true"})
                        reused[0] += 1
                    child_ids[record["index"]] = child.run_id
                progress.advance(task)

            started = time.perf_counter()
            records = run_proxies(
                weights,
                texts,
                n_bytes,
                scaled,
                heldout,
                cfg.proxy,
                data_fingerprint,
                out / RUNS_DIR,
                cfg.workers,
                on_done,
                cfg.members_per_batch,
            )
            losses = np.asarray([r["loss"] for r in records], dtype=np.float64)

            def on_reliability_done(record: dict[str, Any], was_reused: bool) -> None:
                upload_run(RELIABILITY_RUNS_DIR, record, was_reused)
                progress.advance(task)

            reliability = _measure_reliability(weights, losses, inputs, cfg, out, on_reliability_done)
            proxy_seconds = time.perf_counter() - started

            started = time.perf_counter()
            regressor = fit_regressor(weights, losses, cfg.regression)
            regression_seconds = time.perf_counter() - started
            search = best_weights(
                regressor, len(table.columns), cfg.candidates, cfg.top_candidates, cfg.seed + 1, alpha=cfg.alpha
            )
            confirmation, final_weights, confirm_seconds = None, search.weights, 0.0
            if cfg.confirm_seeds:

                def on_confirm_done(runs_dir: str, record: dict[str, Any], was_reused: bool) -> None:
                    upload_run(runs_dir, record, was_reused)
                    progress.advance(task)

                started = time.perf_counter()
                confirmation = run_confirmation(inputs, search.weights, weights, losses, cfg, out, on_confirm_done)
                confirm_seconds = time.perf_counter() - started
                chosen = next(r for r in confirmation["finalists"] if r["name"] == confirmation["chosen"])
                final_weights = np.asarray([chosen["weights"][c] for c in table.columns], dtype=np.float64)
            # Finalists that are one weighting train once: the bar ends where the runs did.
            progress.update(task, total=next(t.completed for t in progress.tasks if t.id == task))
        if reliability and (reliability["icc1"] is None or reliability["icc1"] < LOW_RELIABILITY):
            console.print(f"warning: {_reliability_text(reliability)}", highlight=False)

        regressor_file = regressor.save(out)
        curve = _learning_curve(weights, losses, cfg.regression)
        comparison = compare_regressors(weights, losses, cfg.regression)

        fit = {
            "format": FIT_FORMAT,
            "config": _config_dict(cfg),
            "data_fingerprint": data_fingerprint,
            "corpus": {"path": str(corpus.root), "fingerprint": corpus_fingerprint(corpus)},
            "documents": {"total": table.num_documents, "sampled": len(texts), "heldout_removed": removed},
            "heldout": {
                name: {"documents": len(t), "bytes": sum(len(x.encode()) for x in t)} for name, t in heldout.items()
            },
            "columns": table.columns,
            "sources": table.sources,
            "scaling": scaling.to_dict(),
            "weights": dict(zip(table.columns, (float(w) for w in final_weights), strict=True)),
            "runs": {
                "count": len(records),
                "losses": [float(x) for x in losses],
                "reused": reused[0],
            },
            "regression": regressor.metrics,
            "regressor_comparison": comparison,
            "reliability": reliability,
            "learning_curve": curve,
            "search": {
                "candidates": search.candidates,
                "top_candidates": len(search.best_predicted),
                "seconds": round(search.seconds, 3),
                "best_predicted_min": float(search.best_predicted[0]),
                "best_predicted_max": float(search.best_predicted[-1]),
                "weights": dict(zip(table.columns, (float(w) for w in search.weights), strict=True)),
            },
            "confirmation": confirmation,
            "seconds": {
                "proxies": round(proxy_seconds, 3),
                "regression": round(regression_seconds, 3),
                "search": round(search.seconds, 3),
                "confirmation": round(confirm_seconds, 3),
            },
            "mlflow": {"run_id": run.run_id, "child_run_ids": {str(k): v for k, v in sorted(child_ids.items())}},
        }
        _plot_weights(table.columns, final_weights, out / "weights.png")
        write_text_atomic(out / "report.md", _report(fit))
        write_json_atomic(finished_path, fit)
        folder.publish(skip=tuple(f"{d}/" for d in run_dirs))  # the runs went up as they finished
        metrics = {
            **({"run_icc1": reliability["icc1"]} if reliability and reliability["icc1"] is not None else {}),
            "proxy_seconds": proxy_seconds,
            "search_seconds": search.seconds,
            "loss_best": float(losses.min()),
            "loss_median": float(np.median(losses)),
            **{f"weight.{c}": w for c, w in fit["weights"].items()},
        }
        if regressor.metrics["valid_spearman"] is not None:
            metrics["valid_spearman"] = regressor.metrics["valid_spearman"]
        run.log_metrics(metrics)
        if confirmation:
            run.set_tags({"metarater.chosen": confirmation["chosen"]})
        for name in (WEIGHTS_FILE, "weights.png", "report.md", regressor_file):
            run.log_artifact(out / name)
    return FitResult(shown, fit)


def _finished_fit(folder: StagedFolder) -> dict[str, Any] | None:
    """The ``weights.json`` of a fit already in ``--out`` (local or at the URL), or None."""
    if not folder.remote:
        path = folder.local / WEIGHTS_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    payload = folder.read_bytes(WEIGHTS_FILE)
    return json.loads(payload) if payload is not None else None


def _discard_stale_outputs(folder: StagedFolder, cfg: MetaraterConfig) -> None:
    """``--overwrite``: the fit's final files go (at the URL too, ``weights.json`` first) and the runs beyond
    ``cfg``'s counts. Finished proxy runs stay: each is reused only if its identity (weights, data, proxy
    settings) matches, so a fit redone with another regressor or search trains nothing again."""
    for name in (WEIGHTS_FILE, *REGRESSOR_FILES):
        (folder.local / name).unlink(missing_ok=True)
        folder.remove(name)
    for runs_dir, count in ((RUNS_DIR, cfg.runs), (RELIABILITY_RUNS_DIR, cfg.reliability_runs)):
        _remove_runs_beyond(folder.local / runs_dir, count)
        folder.prune(runs_dir)


def _remove_runs_beyond(runs_dir: Path, count: int) -> None:
    from raters.metarater.proxy_runs import run_path

    if not runs_dir.is_dir():
        return
    keep = {run_path(runs_dir, index).name for index in range(count)}
    for path in runs_dir.iterdir():
        if path.name not in keep:
            path.unlink() if path.is_file() else shutil.rmtree(path)


def _config_dict(cfg: MetaraterConfig) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(cfg)))


def _same_settings(saved: dict[str, Any] | None, cfg: MetaraterConfig) -> bool:
    """Equal settings, ignoring how the proxies were spread over processes and populations (that changes no
    result beyond float rounding)."""
    if saved is None:
        return False
    how = {"workers", "members_per_batch"}
    current = _config_dict(cfg)
    saved = {**saved, "regression": {"model": "lightgbm", **saved.get("regression", {})}}  # fits before --regressor
    return {k: v for k, v in saved.items() if k not in how} == {k: v for k, v in current.items() if k not in how}
