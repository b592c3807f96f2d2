"""The pipeline config (``curate run pipelines/NAME.yaml``): which stages run, and with what settings.

A YAML mapping, validated with pydantic before any work: an unknown key fails with a message naming the key
and the file; a stage section left out is a stage that does not run. Relative input paths are relative to the
config file's folder; ``workdir`` is relative to the current directory. Configs are data, never code: YAML is
read with ``safe_load`` and no field is evaluated.

Stages run in this order, each only when its section is present (``ingest`` is required)::

    ingest -> signals -> dedup -> datarater (train, score, keep flags) -> metarater (fit, keep flags)
           -> select (the rule's clauses AND the DataRater / Meta-rater keep flags) -> mix -> validate -> export
           -> report
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from curation.dedup.minhash import MinHashParams
from curation.dedup.stage import DedupConfig
from curation.errors import ConfigError
from raters.datarater.filter_stage import FilterConfig


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkSection(Section):
    master: str | None = Field(None, description="Spark master URL (default local[*]; spark://HOST:7077 for a cluster)")
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark settings, e.g. GPU resources")


def _ingest_section():
    """`curate ingest`'s options (``IngestConfig`` without ``out``, which the pipeline sets): one list of fields."""
    from curation.ingest.config import IngestConfig

    fields = {name: (f.annotation, f) for name, f in IngestConfig.model_fields.items() if name != "out"}
    return create_model(
        "IngestSection", __base__=Section, __doc__="`curate ingest` options; inputs required.", **fields
    )


IngestSection = _ingest_section()


class SignalsSection(Section):
    """Heuristic quality signals (datatrove's Gopher/C4/FineWeb filters, RedPajama-v2 numbers)."""

    thresholds: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per filter (gopher_quality, gopher_repetition, c4_quality, fineweb_quality), datatrove "
        "arguments instead of its defaults, e.g. {gopher_quality: {min_doc_words: 30}}",
    )


_MINHASH = MinHashParams()  # the sections' defaults are the stages' own (one source)
_FILTER = FilterConfig()


class DedupSection(Section):
    ngram: int = _MINHASH.ngram
    num_perm: int = _MINHASH.num_perm
    bands: int = _MINHASH.bands
    rows: int = _MINHASH.rows
    seed: int = _MINHASH.seed
    verify_threshold: float | None = _MINHASH.verify_threshold
    max_bucket: int = DedupConfig().max_bucket
    # how the clusters are joined, not what they are: left out of the stage's hash
    driver_max_edges: int = DedupConfig().driver_max_edges


class RaterSection(Section):
    """A quality rater trained beforehand (`curate raters KIND train`) that scores the corpus into the
    attribute set ``attributes/NAME``: its columns (dsir_log_ratio, fasttext_quality, proxy_bpb,
    dim_<dimension>) can then be named by the select rule and combined by Meta-rater."""

    kind: Literal["dsir", "fasttext", "perplexity", "dimension"]
    model: str = Field(
        description="the model folder: a path (relative to the config file), a URL or an MLflow model URI "
        "(models:/NAME/VERSION)"
    )
    batch_size: int = Field(32, ge=1, description="perplexity only: windows per forward pass")
    device: str = Field("auto", description="perplexity only: auto (the task's GPU when present) or cpu")
    gpus_per_task: float = Field(
        0, ge=0, description="perplexity only, on a cluster: the share of a GPU each scoring task asks Spark for"
    )


class DataRaterTrainSection(Section):
    heldout: str | None = Field(None, description="held-out text for the outer loss (default: a share of the corpus)")
    heldout_fraction: float = 0.1
    settings: dict[str, Any] = Field(
        default_factory=dict, description="DataRaterConfig fields (raters/datarater/meta.py)"
    )
    checkpoint_every: int = 25


class DataRaterFilterSection(Section):
    rho: float = _FILTER.rho
    batch_size: int = _FILTER.batch_size
    mode: Literal["probability", "batch"] = _FILTER.mode
    seed: int = _FILTER.seed


class DataRaterSection(Section):
    """Meta-train a rater on the ingested corpus, score it, and add ``datarater_keep`` to the selection."""

    train: DataRaterTrainSection = Field(default_factory=DataRaterTrainSection)
    score_batch_size: int = 64
    device: str = "auto"
    gpus_per_task: float = Field(
        0, ge=0, description="on a cluster: the share of a GPU each scoring task asks Spark for (a stage-level profile)"
    )
    filter: DataRaterFilterSection = Field(default_factory=DataRaterFilterSection)


class MetaraterSection(Section):
    """Fit Meta-rater weights over the attribute sets' scores and add ``metarater_keep`` to the selection."""

    heldout: list[str] = Field(min_length=1)
    columns: list[str] | None = None
    lower_is_better: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(
        default_factory=dict, description="MetaraterConfig fields (raters/metarater/fit.py)"
    )
    tokens: str | int | None = Field(None, description="token budget of the selection, e.g. 2M (or use fraction)")
    fraction: float | None = None

    @model_validator(mode="after")
    def _one_budget(self):
        if (self.tokens is None) == (self.fraction is None):
            raise ValueError("give exactly one of metarater.tokens and metarater.fraction")
        if self.tokens is not None:
            from curation.proxy.config import parse_token_count

            try:
                parse_token_count(str(self.tokens))
            except ConfigError as exc:
                raise ValueError(f"metarater.tokens: {exc}") from None
        return self


class SelectSection(Section):
    """The rule (clauses joined by ``and``) the curated corpus keeps; keep flags of raters are appended."""

    rule: list[str] = Field(default_factory=list)


class MixSection(Section):
    """`curate mix` options: target shares of the values of ``column`` under a budget of ``tokens``."""

    column: str = "source"
    targets: dict[str, float] = Field(min_length=1)
    tokens: str | int
    tokenizer: str = "bytes"
    on_short: Literal["repeat", "fill"] = "repeat"
    seed: int = 0


class ValidateSection(Section):
    """Proxies trained on the curated corpus (and on DataRater's choice alone) against a random sample."""

    heldout: dict[str, str] = Field(min_length=1, description="NAME: PATH of held-out text")
    tokens: str | int = "300k"
    seeds: int = 3
    size: str = "tiny"
    evaluations: int = 6
    heldout_bytes: int = 100_000
    datarater_only: bool = Field(True, description="also train on the corpus filtered by DataRater alone")
    device: str = "auto"
    members_per_batch: int | None = Field(
        None, ge=1, description="proxies trained as one batched model (default: chosen for the machine)"
    )


class ExportSection(Section):
    """`curate export` options: parquet or jsonl.zst files under WORKDIR/export/data/ with a manifest."""

    format: str = "parquet"
    columns: list[str] | None = None
    rename: dict[str, str] = Field(default_factory=dict)
    shard_rows: int = 100_000


RESERVED_ATTRIBUTE_NAMES = ("signals", "dedup", "datarater")  # attributes/NAME of the other stages


class PipelineConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    workdir: str | None = Field(None, description="where every output goes (default runs/NAME)")
    spark: SparkSection = Field(default_factory=SparkSection)
    ingest: IngestSection
    signals: SignalsSection | None = None
    dedup: DedupSection | None = None
    raters: dict[str, RaterSection] = Field(
        default_factory=dict, description="NAME: a quality rater scoring the corpus into attributes/NAME"
    )
    datarater: DataRaterSection | None = None
    metarater: MetaraterSection | None = None
    select: SelectSection | None = None
    mix: MixSection | None = None
    validate_: ValidateSection | None = Field(None, alias="validate")
    export: ExportSection | None = None
    report: bool = True

    @model_validator(mode="after")
    def _rater_names(self):
        import re

        for name in self.raters:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"raters: {name!r} is not a name (lower-case letters, digits and _)")
            if name in RESERVED_ATTRIBUTE_NAMES:
                raise ValueError(f"raters: {name!r} is the attribute set of another stage; choose another name")
        return self

    def config_hash(self) -> str:
        payload = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def located(error: dict, path: Path | None) -> str:
    """A pydantic error as one line naming the file and the key."""
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key {where!r}"
    if error["type"] == "missing":
        return f"{path}: missing key {where!r}"
    return f"{path}: {where}: {error['msg'].removeprefix('Value error, ')}"


def parse_pipeline_config(payload: Any, path: Path | str) -> PipelineConfig:
    """Validate a loaded mapping; relative inputs become relative to the config file's folder (or its URL's)."""
    from curation.storage import is_remote

    if not isinstance(payload, dict):
        raise ConfigError(f"{path}: a pipeline config is a mapping of sections (name, ingest, ...)")
    try:
        cfg = PipelineConfig.model_validate(payload)
    except ValidationError as exc:
        raise ConfigError(located(exc.errors()[0], path)) from None
    remote = is_remote(str(path))
    base = str(path).rpartition("/")[0] if remote else Path(path).resolve().parent

    def resolve(spec: str) -> str:
        if "://" in spec or Path(spec).is_absolute():
            return spec
        return f"{base}/{spec}" if remote else str(base / spec)

    def resolve_named(spec: str) -> str:
        """A held-out set, ``PATH`` or ``NAME=PATH``: its path resolved, its name kept."""
        from curation.proxy.text_source import parse_named

        name, path = parse_named(spec)
        return f"{name}={resolve(path)}" if path != spec else resolve(spec)

    updates: dict[str, Any] = {
        "ingest": cfg.ingest.model_copy(update={"inputs": [resolve(i) for i in cfg.ingest.inputs]})
    }
    if cfg.raters:
        from raters.mlflow_model import is_mlflow_uri

        updates["raters"] = {
            name: rater.model_copy(
                update={"model": rater.model if is_mlflow_uri(rater.model) else resolve(rater.model)}
            )
            for name, rater in cfg.raters.items()
        }
    if cfg.datarater and cfg.datarater.train.heldout:
        train = cfg.datarater.train.model_copy(update={"heldout": resolve_named(cfg.datarater.train.heldout)})
        updates["datarater"] = cfg.datarater.model_copy(update={"train": train})
    if cfg.metarater:
        updates["metarater"] = cfg.metarater.model_copy(
            update={"heldout": [resolve_named(h) for h in cfg.metarater.heldout]}
        )
    if cfg.validate_:
        heldout = {name: resolve(spec) for name, spec in cfg.validate_.heldout.items()}
        updates["validate_"] = cfg.validate_.model_copy(update={"heldout": heldout})
    if cfg.mix and cfg.mix.tokenizer != "bytes":
        updates["mix"] = cfg.mix.model_copy(update={"tokenizer": resolve(cfg.mix.tokenizer)})
    return cfg.model_copy(update=updates)


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML file: a local path or a URL (``s3://bucket/pipelines/x.yaml``)."""
    import yaml

    from curation.storage import is_remote, open_binary, refuse_credentials, remote_error

    if not is_remote(str(path)):
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such pipeline config")
        raw = path.read_bytes
    else:
        refuse_credentials(str(path))

        def raw() -> bytes:
            try:
                with open_binary(str(path)) as fh:
                    return fh.read()
            except FileNotFoundError:
                raise ConfigError(f"{path}: no such pipeline config") from None
            except OSError as exc:
                raise remote_error(str(path), exc) from None

    try:
        payload = yaml.safe_load(raw().decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not readable YAML ({str(exc).splitlines()[0]})") from None
    return parse_pipeline_config(payload, path)
