"""The stages a pipeline config makes, in order, each checked before any work: ``StagePlan(cfg, ...).stages()``.

Each section of the config becomes one or more ``Stage``s (``pipelines.stage``): its settings and the
outputs it reads (both in the stage's config hash), the outputs it writes in the work directory, and how it
runs, returning the ``StageResult`` the Python API returns. Later stages read what earlier ones wrote: every
attribute set so far (``attributes``, in stage order) and the corpus the select, then the mix, made
(``final``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curation.api import StageResult, corpus_stage_result
from curation.destination import Destination
from curation.errors import ConfigError
from pipelines.config import PipelineConfig
from pipelines.stage import RunContext, Stage


class StagePlan:
    def __init__(self, cfg: PipelineConfig, config_path: Path | str | None, root: Destination, ctx: RunContext):
        self.cfg = cfg
        self.config_path = config_path
        self.root = root  # the work directory: a local directory or a URL on an object store
        self.ctx = ctx
        self.corpus = self._at("corpus")
        self.attributes: list[Path | str] = []  # every attribute set so far, in stage order
        self.final = self.corpus  # the corpus later stages read: the select, then the mix output

    def _at(self, relative: str) -> Path | str:
        """An output's place in the work directory: a ``Path`` locally, a URL on an object store."""
        return self.root.url(relative) if self.root.remote else self.root.path / relative

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

        def run(overwrite: bool) -> StageResult:
            from curation.ingest.job import run_ingest
            from curation.ingest.summary import print_problems

            result = run_ingest(
                ingest_cfg,
                master=self.ctx.master,
                spark_conf=self.ctx.spark_conf,
                tracking=self.ctx.tracking,
                overwrite=overwrite,
            )
            print_problems(result.problems, self.ctx.console)  # one line per problem, as `curate ingest` prints them
            return corpus_stage_result(result)

        # The inputs' checksums are checked by ingest itself: it skips when they and the options are unchanged, and
        # replaces the corpus (overwrite) only when this pipeline made it.
        return Stage("ingest", section, [], {"corpus": ("corpus", self.corpus)}, run, always_run=True)

    def _attributes(self, name: str, out: Path | str, producer: Callable[[], Any], settings: dict, reads=()) -> Stage:
        """An attribute set; ``settings`` must name the producer and its version (they are in the stage's hash)."""

        def run(overwrite: bool) -> StageResult:
            from curation.api import attribute_stage_result
            from curation.attribute_stage import run_attribute_stage

            return attribute_stage_result(
                run_attribute_stage(
                    self.corpus,
                    producer(),
                    out,
                    master=self.ctx.master,
                    spark_conf=self.ctx.spark_conf,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                )
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
            producer = quality_producer(section.kind, section.model, batch_size=section.batch_size,
                                        device=section.device, gpus_per_task=section.gpus_per_task)  # fmt: skip
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

        def run(overwrite: bool) -> StageResult:
            from curation.api import dedup_result
            from curation.dedup.stage import run_dedup

            return dedup_result(
                run_dedup(
                    self.corpus,
                    out,
                    config,
                    master=self.ctx.master,
                    spark_conf=self.ctx.spark_conf,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                )
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
            from raters.api import datarater_train_result
            from raters.datarater.training import run_datarater_train

            return datarater_train_result(
                run_datarater_train(
                    str(self.corpus),
                    model,
                    rater_cfg,
                    heldout_spec=section.train.heldout,
                    heldout_fraction=section.train.heldout_fraction,
                    checkpoint_every=section.train.checkpoint_every,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                    console=self.ctx.console,
                )
            )

        def producer():
            return DataRaterScores(model, batch_size=section.score_batch_size, device=section.device,
                                   gpus_per_task=section.gpus_per_task)  # fmt: skip

        def flags(overwrite: bool):
            from raters.datarater.filter_stage import write_datarater_keep

            return _keep_flags(
                write_datarater_keep(self.corpus, scores, keep, filter_cfg, self.ctx.tracking, overwrite)
            )

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
            from raters.api import metarater_fit_result
            from raters.metarater.fit import run_metarater_fit

            return metarater_fit_result(
                run_metarater_fit(
                    self.corpus,
                    sources,
                    list(section.heldout),
                    fit_dir,
                    meta_cfg,
                    columns=section.columns,
                    lower_is_better=section.lower_is_better,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                    console=self.ctx.console,
                )
            )

        from curation.proxy.config import parse_token_count

        tokens = parse_token_count(str(section.tokens)) if section.tokens else None  # checked before any work

        def flags(overwrite: bool):
            from raters.metarater.select import write_metarater_keep

            return _keep_flags(
                write_metarater_keep(
                    self.corpus,
                    sources,
                    fit_dir,
                    keep,
                    tokens=tokens,
                    fraction=section.fraction,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                )
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

        def run(overwrite: bool) -> StageResult:
            from curation.select.job import run_select

            return corpus_stage_result(
                run_select(
                    self.corpus,
                    [str(s) for s in sets],
                    rule,
                    out,
                    master=self.ctx.master,
                    spark_conf=self.ctx.spark_conf,
                    tracking=self.ctx.tracking,
                    overwrite=overwrite,
                    console=self.ctx.console,
                )
            )

        reads = [("corpus", self.corpus), *[("attributes", s) for s in sets]]
        return Stage(name, {"rule": rule}, reads, {"corpus": ("corpus", out)}, run)

    def _mix(self) -> Stage:
        from curation.mix.config import MixConfig

        section = self.cfg.mix.model_dump()
        mix_cfg = MixConfig(**section)
        source, out = self.final, self._at("mixed")

        def run(overwrite: bool) -> StageResult:
            from curation.mix.job import run_mix

            return corpus_stage_result(run_mix(source, out, mix_cfg, tracking=self.ctx.tracking, overwrite=overwrite))

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

        def run(overwrite: bool) -> StageResult:
            from curation.api import validation_result
            from curation.validate.job import run_validate

            return validation_result(
                run_validate(validate_cfg, tracking=self.ctx.tracking, overwrite=overwrite, console=self.ctx.console)
            )

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

        def run(overwrite: bool) -> StageResult:
            from curation.api import export_result
            from curation.export import run_export

            return export_result(run_export(source, out, export_cfg, tracking=self.ctx.tracking, overwrite=overwrite))

        return Stage("export", section, [("corpus", source)], {"export": ("export", out)}, run)


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


def _keep_flags(path: Path | str) -> StageResult:
    """A keep-flag attribute set a writer returned as its directory."""
    from curation.api import attribute_stage_result
    from curation.attributes import AttributeSet

    return attribute_stage_result(AttributeSet.open(path))
