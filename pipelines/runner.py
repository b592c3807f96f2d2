"""``curate run``: the stages of a pipeline config, in order, under one work directory and one MLflow run.

Each stage is a nested MLflow run under the pipeline's run. A stage's config hash covers its settings and
the fingerprints (manifest checksums) of the outputs it reads, so a rerun skips every stage whose hash is
unchanged and whose outputs are still committed, and redoes a stage, and everything that reads it, when its
settings or its inputs changed. A stage interrupted by a crash resumes where its own checkpoints allow
(ingest, attribute sets, DataRater training and validation all resume). ``--from STAGE`` discards that
stage's outputs and those of every later stage, and runs them again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.destination import Destination
from curation.errors import ConfigError
from curation.pipeline_state import STATE_FORMAT, STATE_NAME, committed, fingerprint, read_state, write_state
from pipelines.config import PipelineConfig
from pipelines.stage_names import STAGES  # noqa: F401 - the runner's order, re-exported


@dataclass
class Stage:
    """One step: what it reads (output kind, path), what it writes, and how."""

    name: str
    settings: dict[str, Any]
    reads: list[tuple[str, Path | str]]
    writes: dict[str, tuple[str, Path | str]]  # output key -> (marker kind, path or URL)
    run: Callable[[bool], Any]  # overwrite -> result (with .skipped when the stage itself found it done)
    always_run: bool = False  # the stage checks its own inputs (ingest: the input files' checksums)

    def config_hash(self) -> str:
        inputs = [fingerprint(kind, path) for kind, path in self.reads]
        payload = json.dumps({"stage": self.name, "settings": self.settings, "inputs": inputs}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def committed(self) -> bool:
        return all(committed(kind, path) for kind, path in self.writes.values())


@dataclass
class PipelineResult:
    workdir: Path | str
    state: dict[str, Any]
    final_corpus: Path | str
    report: Any = None
    seconds: float = 0.0
    ran: list[str] = field(default_factory=list)


class PipelineRunner:
    def __init__(
        self, cfg: PipelineConfig, config_path: Path | str | None, workdir: Path | str, tracking: bool, console
    ):
        self.cfg = cfg
        self.config_path = config_path
        self.root = Destination(workdir)  # the work directory: a local directory or a URL on an object store
        self.workdir = self.root.path
        self.tracking = tracking
        self.console = console
        self.master = cfg.spark.master
        self.spark_conf = dict(cfg.spark.conf)
        self.corpus = self._at("corpus")
        self.attributes: list[Path | str] = []  # every attribute set so far, in stage order
        self.final = self.corpus  # the corpus later stages read: the select, then the mix output

    def _at(self, relative: str) -> Path | str:
        """An output's place in the work directory: a ``Path`` locally, a URL on an object store."""
        return self.root.url(relative) if self.root.remote else self.workdir / relative

    # ------------------------------------------------------------------ the stage list
    def stages(self) -> list[Stage]:
        cfg, at = self.cfg, self._at
        out: list[Stage] = [self._ingest()]
        if cfg.signals is not None:
            signals = self._signals_producer()  # a bad threshold fails here, before any work
            identity = {"producer": signals.name, "version": signals.version, "config": signals.config()}
            out.append(self._attributes("signals", at("attributes/signals"), self._signals_producer, identity))
        if cfg.dedup is not None:
            out.append(self._dedup())
        out.extend(self._raters())
        keep_sets: list[tuple[str, Path | str]] = []
        if cfg.datarater is not None:
            out.extend(self._datarater())
            keep_sets.append(("datarater_keep", at("attributes/datarater-keep")))
        if cfg.metarater is not None:
            out.extend(self._metarater())
            keep_sets.append(("metarater_keep", at("attributes/metarater-keep")))
        rule = list(cfg.select.rule if cfg.select else []) + [column for column, _ in keep_sets]
        if rule:
            out.append(self._select("select", at("curated"), rule, list(self.attributes)))
            self.final = at("curated")
        datarater_only = None
        if cfg.datarater is not None and cfg.validate_ is not None and cfg.validate_.datarater_only:
            datarater_only = at("datarater-filtered")
            out.append(self._select("datarater_only", datarater_only, ["datarater_keep"], [keep_sets[0][1]]))
        if cfg.mix is not None:
            out.append(self._mix())
        if cfg.validate_ is not None:
            out.append(self._validate(datarater_only))
        if cfg.export is not None:
            out.append(self._export())
        return out

    def _ingest(self) -> Stage:
        from pydantic import ValidationError

        from curation.ingest.config import IngestConfig
        from pipelines.config import located

        section = self.cfg.ingest.model_dump()
        try:
            ingest_cfg = IngestConfig(**section, out=str(self.corpus))
        except ValidationError as exc:
            error = exc.errors()[0]
            raise ConfigError(located({**error, "loc": ("ingest", *error["loc"])}, self.config_path)) from None

        def run(overwrite: bool):
            from curation.ingest.job import run_ingest
            from curation.ingest.summary import print_problems

            result = run_ingest(
                ingest_cfg, master=self.master, spark_conf=self.spark_conf, tracking=self.tracking, overwrite=overwrite
            )
            print_problems(result.problems, self.console)  # one line per problem, as `curate ingest` prints them
            return result

        # The inputs' checksums are checked by ingest itself: it skips when they and the options are unchanged, and
        # replaces the corpus (overwrite) only when this pipeline made it.
        return Stage("ingest", section, [], {"corpus": ("corpus", self.corpus)}, run, always_run=True)

    def _attributes(self, name: str, out: Path | str, producer: Callable[[], Any], settings: dict, reads=()) -> Stage:
        """An attribute set; ``settings`` must name the producer and its version (they are in the stage's hash)."""

        def run(overwrite: bool):
            from curation.attribute_stage import run_attribute_stage

            return run_attribute_stage(
                self.corpus,
                producer(),
                out,
                master=self.master,
                spark_conf=self.spark_conf,
                tracking=self.tracking,
                overwrite=overwrite,
            )

        self.attributes.append(out)
        return Stage(name, settings, [("corpus", self.corpus), *reads], {"attributes": ("attributes", out)}, run)

    def _signals_producer(self):
        from curation.signals.heuristics import HeuristicSignals

        return HeuristicSignals(thresholds=self.cfg.signals.thresholds)

    def _raters(self) -> list[Stage]:
        """One ``score_NAME`` stage per quality rater of the ``raters`` section, each its attribute set
        ``attributes/NAME``. The model is loaded now, on the driver (a missing or broken one fails before any
        work), and its files' checksum is in the stage's identity: a retrained model is scored again."""
        from raters.quality_producers import quality_producer

        stages, writers = [], {}
        for name, section in self.cfg.raters.items():
            producer = quality_producer(
                section.kind, section.model, batch_size=section.batch_size, device=section.device
            )
            for column in [column.name for column in producer.output_schema()]:
                if column in writers:  # select reads every attribute set: a column must have one owner
                    raise ConfigError(
                        f"raters {writers[column]} and {name} both write the column {column!r}; a pipeline can use "
                        "one of them"
                    )
                writers[column] = name
            identity = {"producer": producer.name, "version": producer.version, "config": producer.config()}
            stages.append(self._attributes(f"score_{name}", self._at(f"attributes/{name}"), lambda p=producer: p,
                                           identity))  # fmt: skip
        return stages

    def _dedup(self) -> Stage:
        from curation.dedup.minhash import MinHashParams
        from curation.dedup.stage import DedupConfig

        section = self.cfg.dedup.model_dump()
        driver_max_edges = section.pop("driver_max_edges")  # how clusters are joined, not what: not in the hash
        out = self._at("attributes/dedup")
        params = {k: v for k, v in section.items() if k != "max_bucket"}
        config = DedupConfig(
            params=MinHashParams(**params), max_bucket=section["max_bucket"], driver_max_edges=driver_max_edges
        )  # checked before work

        def run(overwrite: bool):
            from curation.dedup.stage import run_dedup

            return run_dedup(
                self.corpus,
                out,
                config,
                master=self.master,
                spark_conf=self.spark_conf,
                tracking=self.tracking,
                overwrite=overwrite,
            )

        self.attributes.append(out)
        return Stage("dedup", section, [("corpus", self.corpus)], {"attributes": ("attributes", out)}, run)

    def _datarater(self) -> list[Stage]:
        from raters.datarater.filter_stage import FilterConfig
        from raters.datarater.scoring import DataRaterScores
        from raters.datarater.training import load_config

        section = self.cfg.datarater
        rater_cfg = load_config(None, section.train.settings)  # a bad setting fails here, before any work
        filter_cfg = FilterConfig(**section.filter.model_dump())
        model = self._at("models/datarater")
        scores = self._at("attributes/datarater")
        keep = self._at("attributes/datarater-keep")

        def train(overwrite: bool):
            from raters.datarater.training import run_datarater_train

            return run_datarater_train(
                str(self.corpus),
                model,
                rater_cfg,
                heldout_spec=section.train.heldout,
                heldout_fraction=section.train.heldout_fraction,
                checkpoint_every=section.train.checkpoint_every,
                tracking=self.tracking,
                overwrite=overwrite,
                console=self.console,
            )

        def producer():
            return DataRaterScores(model, batch_size=section.score_batch_size, device=section.device)

        def flags(overwrite: bool):
            from raters.datarater.filter_stage import write_datarater_keep

            return write_datarater_keep(self.corpus, scores, keep, filter_cfg, self.tracking, overwrite)

        train_settings = {
            "config": rater_cfg.to_dict(),
            **section.train.model_dump(exclude={"settings"}),
            "heldout_digest": _file_digest(section.train.heldout),
        }
        stages = [
            Stage(
                "datarater_train",
                train_settings,
                [("corpus", self.corpus)],
                {"model": ("datarater_model", model)},
                train,
            ),
            self._attributes(
                "datarater_score",
                scores,
                producer,
                {
                    "producer": DataRaterScores.name,
                    "version": DataRaterScores.version,
                    "batch": section.score_batch_size,
                },
                reads=[("datarater_model", model)],
            ),
        ]
        self.attributes.append(keep)
        stages.append(
            Stage(
                "datarater_keep",
                section.filter.model_dump(),
                [("corpus", self.corpus), ("attributes", scores)],
                {"attributes": ("attributes", keep)},
                flags,
            )
        )
        return stages

    def _metarater(self) -> list[Stage]:
        from raters.metarater.fit import metarater_config

        section = self.cfg.metarater
        meta_cfg = metarater_config(section.settings)  # a bad setting fails here, before any work
        fit_dir = self._at("models/metarater")
        keep = self._at("attributes/metarater-keep")
        sources = list(self.attributes)  # the scores: every attribute set computed before this stage

        def fit(overwrite: bool):
            from raters.metarater.fit import run_metarater_fit

            return run_metarater_fit(
                self.corpus,
                sources,
                list(section.heldout),
                fit_dir,
                meta_cfg,
                columns=section.columns,
                lower_is_better=section.lower_is_better,
                tracking=self.tracking,
                overwrite=overwrite,
                console=self.console,
            )

        from curation.proxy.config import parse_token_count

        tokens = parse_token_count(str(section.tokens)) if section.tokens else None  # checked before any work

        def flags(overwrite: bool):
            from raters.metarater.select import write_metarater_keep

            return write_metarater_keep(
                self.corpus,
                sources,
                fit_dir,
                keep,
                tokens=tokens,
                fraction=section.fraction,
                tracking=self.tracking,
                overwrite=overwrite,
            )

        reads = [("corpus", self.corpus), *[("attributes", s) for s in sources]]
        fit_settings = {
            **section.model_dump(exclude={"tokens", "fraction"}),  # a new budget reselects, it does not refit
            "heldout_digests": [_file_digest(h) for h in section.heldout],
        }
        self.attributes.append(keep)
        return [
            Stage("metarater_fit", fit_settings, reads, {"model": ("metarater_model", fit_dir)}, fit),
            Stage(
                "metarater_keep",
                {"tokens": section.tokens, "fraction": section.fraction},
                [*reads, ("metarater_model", fit_dir)],
                {"attributes": ("attributes", keep)},
                flags,
            ),
        ]

    def _select(self, name: str, out: Path | str, rule: list[str], sets: list[Path | str]) -> Stage:
        from curation.select.rules import parse_rule

        parse_rule(rule)  # a syntax error fails here, before any work

        def run(overwrite: bool):
            from curation.select.job import run_select

            return run_select(
                self.corpus,
                [str(s) for s in sets],
                rule,
                out,
                master=self.master,
                spark_conf=self.spark_conf,
                tracking=self.tracking,
                overwrite=overwrite,
                console=self.console,
            )

        reads = [("corpus", self.corpus), *[("attributes", s) for s in sets]]
        return Stage(name, {"rule": rule}, reads, {"corpus": ("corpus", out)}, run)

    def _mix(self) -> Stage:
        from curation.mix.config import MixConfig

        section = self.cfg.mix.model_dump()
        mix_cfg = MixConfig(**section)
        source, out = self.final, self._at("mixed")

        def run(overwrite: bool):
            from curation.mix.job import run_mix

            return run_mix(source, out, mix_cfg, tracking=self.tracking, overwrite=overwrite)

        self.final = out
        settings = {**section, "tokenizer_digest": _file_digest(section["tokenizer"])}
        return Stage("mix", settings, [("corpus", source)], {"corpus": ("corpus", out)}, run)

    def _validate(self, datarater_only: Path | str | None) -> Stage:
        from curation.proxy.config import parse_token_count
        from curation.validate.job import ValidateConfig

        section = self.cfg.validate_
        train = [f"curated={self.final}"] + ([f"datarater={datarater_only}"] if datarater_only else [])
        out = self._at("validation")
        validate_cfg = ValidateConfig(
            train=train,
            heldout=[f"{name}={path}" for name, path in section.heldout.items()],
            out=str(out),
            tokens=parse_token_count(str(section.tokens)),
            seeds=section.seeds,
            random_baseline=str(self.corpus),
            size=section.size,
            evaluations=section.evaluations,
            heldout_bytes=section.heldout_bytes,
            device=section.device,
            members_per_batch=section.members_per_batch,
        )
        validate_cfg.check()

        def run(overwrite: bool):
            from curation.validate.job import run_validate

            return run_validate(validate_cfg, tracking=self.tracking, overwrite=overwrite, console=self.console)

        reads = [("corpus", self.corpus), ("corpus", self.final)]
        if datarater_only:
            reads.append(("corpus", datarater_only))
        heldout = {name: _file_digest(path) for name, path in section.heldout.items()}
        settings = {**section.model_dump(), "heldout_digests": heldout}
        return Stage("validate", settings, reads, {"validation": ("validation", out)}, run)

    def _export(self) -> Stage:
        from curation.export import ExportConfig

        section = self.cfg.export.model_dump()
        export_cfg = ExportConfig(**section)
        source, out = self.final, self._at("export")

        def run(overwrite: bool):
            from curation.export import run_export

            return run_export(source, out, export_cfg, tracking=self.tracking, overwrite=overwrite)

        return Stage("export", section, [("corpus", source)], {"export": ("export", out)}, run)

    # ------------------------------------------------------------------ running
    def run(self, from_stage: str | None = None) -> PipelineResult:
        from curation.tracking import stage_run, tracking_lost, tracking_uri

        started = time.perf_counter()
        stages = self.stages()  # every section is validated here, before any work
        names = [s.name for s in stages]
        if from_stage is not None and from_stage not in names:
            raise ConfigError(f"--from {from_stage}: not a stage of this pipeline (its stages: {', '.join(names)})")
        forced = set(names[names.index(from_stage) :]) if from_stage else set()
        before = read_state(self.workdir)
        if before is not None and before.get("name") != self.cfg.name:
            raise ConfigError(
                f"{self.workdir} holds pipeline {before.get('name')!r}, not {self.cfg.name!r}; choose another workdir"
            )
        if before is None and any(stage.committed() for stage in stages):
            raise ConfigError(
                f"{self.workdir} holds outputs no pipeline run recorded (no pipeline.json); choose another workdir "
                "or remove them"
            )
        # The last record of every stage, from this run or an earlier one that got further.
        previous = {**(before or {}).get("known", {}), **{s["name"]: s for s in (before or {}).get("stages", [])}}
        self.root.check_writable("--workdir")
        state = {
            "format": STATE_FORMAT,
            "name": self.cfg.name,
            "config_path": str(self.config_path) if self.config_path else None,
            "config_hash": self.cfg.config_hash(),
            "workdir": str(self.workdir),
            "mlflow_run_id": None,
            "tracking_uri": tracking_uri() if self.tracking else None,
            "finished": False,
            "stages": [],
            "known": previous,
        }
        params = {"pipeline": self.cfg.name, "config": str(self.config_path), "stages": names, "from": from_stage}
        ran: list[str] = []
        if self.tracking and before is not None and not before.get("finished"):
            _mark_killed(before)
        with stage_run(f"pipeline:{self.cfg.name}", params, enabled=self.tracking) as parent:
            parent.set_tags({"curation.workdir": str(self.workdir), "curation.pipeline": self.cfg.name})
            parent.log_dict(self.cfg.model_dump(mode="json", by_alias=True), "pipeline-config.json")
            state["mlflow_run_id"] = parent.run_id
            write_state(self.workdir, state)  # before any stage: a kill from here on leaves this run to mark KILLED
            for stage in stages:
                record = self._run_stage(stage, previous.get(stage.name), stage.name in forced, state, parent)
                if record["status"] == "done":
                    ran.append(stage.name)
                parent.log_metrics({f"stage_seconds.{stage.name}": record["seconds"]})
            state["finished"] = True
            write_state(self.workdir, state)
            report = None
            if self.cfg.report:
                from curation.report import build_report

                self.console.rule("[bold]report")
                # into the pipeline's run, unless its store was lost during this run (warned once already)
                report = build_report(self.workdir, log_to_mlflow=self.tracking and tracking_lost() is None)
            with self.root.local_copy(STATE_NAME) as state_file:
                parent.log_artifact(state_file)
        return PipelineResult(self.workdir, state, self.final, report, time.perf_counter() - started, ran)

    def _run_stage(self, stage: Stage, before: dict | None, forced: bool, state: dict, parent) -> dict[str, Any]:
        config_hash = stage.config_hash()
        outputs = {key: str(path) for key, (_, path) in stage.writes.items()}
        same = before is not None and before.get("config_hash") == config_hash
        if (
            not forced
            and not stage.always_run
            and same
            and before.get("status") in ("done", "skipped")
            and stage.committed()
        ):
            self.console.print(f"{stage.name}: unchanged and committed; skipped", highlight=False, markup=False)
            record = {**before, "status": "skipped", "seconds": 0.0, "outputs": outputs}
            state["stages"].append(record)
            state["known"][stage.name] = record
            write_state(self.workdir, state)
            return record
        if stage.always_run:
            overwrite = (
                before is not None
            )  # ingest replaces its corpus when the inputs changed, if this pipeline made it
        else:
            if forced or (before is not None and not same):
                for _, path in stage.writes.values():  # this pipeline's own outputs, made with other settings or inputs
                    _discard(path, self.root)
            overwrite = False  # same settings: a stage interrupted earlier resumes from its checkpoints
        self.console.rule(f"[bold]{stage.name}")
        record = {
            "name": stage.name,
            "kind": stage.name,
            "status": "running",
            "config_hash": config_hash,
            "seconds": 0.0,
            "mlflow_run_id": None,
            "outputs": outputs,
        }
        state["stages"].append(record)
        state["known"][stage.name] = record
        write_state(self.workdir, state)  # a crash from here on leaves "running" with this hash: a rerun resumes
        started = time.perf_counter()
        try:
            result = stage.run(overwrite)
        except BaseException:
            record.update(status="failed", seconds=round(time.perf_counter() - started, 3))
            write_state(self.workdir, state)
            raise
        status = "skipped" if getattr(result, "skipped", False) else "done"
        record.update(status=status, seconds=round(time.perf_counter() - started, 3), mlflow_run_id=_run_id(result))
        write_state(self.workdir, state)
        return record


def _mark_killed(before: dict[str, Any]) -> None:
    """The MLflow runs a killed ``curate run`` left RUNNING (it could not end them) become KILLED, so MLflow shows
    the interrupted run beside the resumed one. Best effort: a store that cannot be reached is reported by the
    pipeline's own run right after."""
    parent, uri = before.get("mlflow_run_id"), before.get("tracking_uri")
    if not parent or not uri:
        return
    try:
        import mlflow

        client = mlflow.MlflowClient(uri)
        experiment = client.get_run(parent).info.experiment_id
        pending = [parent]
        while pending:  # the pipeline's run, its stages' runs, and theirs (e.g. one per proxy)
            run_id = pending.pop()
            if client.get_run(run_id).info.status == "RUNNING":
                client.set_terminated(run_id, status="KILLED")
            children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{run_id}'", max_results=1000)
            pending += [child.info.run_id for child in children]
    except Exception:  # noqa: BLE001 - bookkeeping of an old run must not stop a new one
        return


def _run_id(result: Any) -> str | None:
    """The stage's MLflow run id, wherever its result keeps it."""
    if getattr(result, "run_id", None):
        return result.run_id
    if isinstance(getattr(result, "fit", None), dict):
        return result.fit.get("mlflow", {}).get("run_id")
    if isinstance(getattr(result, "results", None), dict):
        return result.results.get("mlflow", {}).get("parent_run_id")
    manifest = getattr(result, "manifest", None) or getattr(getattr(result, "attributes", None), "manifest", None)
    if isinstance(manifest, dict):
        return manifest.get("mlflow_run_id")
    if isinstance(result, Path) and (result / "manifest.json").is_file():
        return json.loads((result / "manifest.json").read_text(encoding="utf-8")).get("mlflow_run_id")
    return None


def _file_digest(spec: str | None) -> str | None:
    """What identifies an input file named in a section (held-out text as ``PATH`` or ``NAME=PATH``, a
    tokenizer), so a new file redoes the stage: a local file's sha256, an object's checksum from the store."""
    from curation.proxy.text_source import parse_named
    from curation.storage import content_identity, is_remote

    if not spec:
        return None
    path = parse_named(spec)[1]
    if is_remote(path):
        try:
            identity = content_identity(path)
        except FileNotFoundError:
            return None
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return content_identity(path)["sha256"][:16] if Path(path).is_file() else None


def _discard(path: Path | str, workdir: Destination) -> None:
    """Remove a stage's output before a forced rerun; only ever inside the pipeline's work directory."""
    output = Destination(path)
    if not output.location.startswith(workdir.location + "/"):
        raise ConfigError(f"refusing to remove {output}: it is outside the work directory {workdir}")
    output.remove_tree("")


def run_pipeline(
    cfg: PipelineConfig,
    config_path: Path | str | None = None,
    *,
    workdir: Path | str | None = None,
    from_stage: str | None = None,
    tracking: bool = True,
    console=None,
) -> PipelineResult:
    from rich.console import Console

    workdir = workdir or cfg.workdir or f"runs/{cfg.name}"
    runner = PipelineRunner(cfg, config_path, workdir, tracking, console or Console(stderr=True))
    return runner.run(from_stage)
