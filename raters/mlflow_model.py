"""A saved rater as an MLflow model, so that it can be registered, served and loaded by URI.

``save_mlflow_model(model, out)`` writes an MLflow model folder; ``log_mlflow_model(model, register=NAME)`` logs
one into an MLflow run and, with ``register``, makes it a new version of a registered model. ``model`` is any
rater folder ``raters.text_scorer.load_scorer`` reads (DSIR, fastText quality, dimension, perplexity,
DataRater), a path or a URL. The MLflow model has:
- the ``python_function`` flavour: ``mlflow.pyfunc.load_model(uri).predict(df)`` scores ``df["text"]`` into one
  column named as in an attribute set (``fasttext_quality``, ``datarater_score``, ...). It is a model from
  code (``raters/mlflow_pyfunc.py``): loading it unpickles nothing, and the weights stay safetensors and
  fastText files. Loading needs ``curation`` installed (its ``requirements.txt`` says so).
- the rater folder itself as the artifact ``rater`` (without a DataRater's ``checkpoint/``, training state);
- a model card, ``model_card.md`` (also an artifact, the registered version's description and a file of the
  run): what the rater scores and in which direction, what it was trained with (the folder's config file),
  its files with checksums, how to use it, and its limits. Its facts are in the MLmodel ``metadata`` too.

MLflow URIs as model folders: every command and API function that takes a rater folder also takes
``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/PATH`` or a local MLflow model folder saved
here. A URI is downloaded from the tracking store (``MLFLOW_TRACKING_URI``, else the local default) once per
process, on the driver and in each Spark worker, like a model folder on an object store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curation.errors import ConfigError

ARTIFACT = "rater"  # the rater folder's artifact name, and the logged model's name in its run
CARD = "model_card.md"
MLFLOW_URI_PREFIXES = ("models:/", "runs:/")
CODE = Path(__file__).with_name("mlflow_pyfunc.py")

WHAT_IT_SCORES = {
    "dsir": "DSIR importance: log p_target(x) - log p_raw(x) over hashed word uni- and bigrams (Xie et al., 2023)",
    "fasttext-quality": "P(high quality) from a fastText classifier of words and word bigrams (DCLM-style)",
    "dimension": "the expected 0-5 grade of one quality dimension, from a classifier trained on annotations",
    "perplexity": "bits per byte under a small proxy LM trained on reference text (CCNet-style perplexity)",
    "datarater": "a DataRater's score: meta-learned so that training on high-scoring data lowers held-out loss",
}
SCORE_COMMAND = {
    "dsir": "curate raters dsir score",
    "fasttext-quality": "curate raters fasttext score",
    "dimension": "curate raters dimension score",
    "perplexity": "curate raters perplexity score",
    "datarater": "curate datarater score",
}

_downloads: dict[str, Path] = {}  # MLflow URI -> this process's local rater folder


@dataclass
class LoggedRater:
    model_uri: str  # what mlflow.pyfunc.load_model and every --model option take
    run_id: str | None
    registered_name: str | None = None
    registered_version: str | None = None

    @property
    def registered_uri(self) -> str | None:
        return f"models:/{self.registered_name}/{self.registered_version}" if self.registered_name else None


def is_mlflow_uri(text: str | os.PathLike) -> bool:
    return str(text).startswith(MLFLOW_URI_PREFIXES)


def rater_folder_in(folder: Path) -> Path | None:
    """The rater folder inside a local MLflow model folder saved here; None when ``folder`` is no MLflow model."""
    spec_file = folder / "MLmodel"
    if not spec_file.is_file():
        return None
    import yaml

    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
    artifact = spec.get("flavors", {}).get("python_function", {}).get("artifacts", {}).get(ARTIFACT, {})
    if not artifact.get("path"):
        raise ConfigError(f"{folder}: an MLflow model, but not a curation rater (it has no {ARTIFACT!r} artifact)")
    return folder / artifact["path"]


def _store_error(uri: str, store: str, exc: BaseException) -> ConfigError:
    from curation.storage import redacted
    from curation.tracking import first_line

    return ConfigError(f"{uri}: cannot be loaded from the MLflow store {redacted(store)}: {first_line(exc)}")


def resolve_mlflow_uri(uri: str) -> str:
    """Where the rater of the MLflow model at ``uri`` is, fixed now (an alias or ``latest`` resolved once, on the
    driver): a local folder, or a URL on an object store that Spark workers read as any model folder on a URL.
    A store that only MLflow can read (a proxied ``mlflow-artifacts:`` store) keeps ``uri``: each process
    then downloads it through MLflow (``download_rater``)."""
    from urllib.parse import unquote, urlparse

    from curation.destination import Destination
    from curation.storage import is_remote, scheme_of
    from curation.tracking import tracking_uri

    store = tracking_uri()
    caller_uri = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri

        with _use_tracking_uri(store):  # the registry follows the tracking store unless the caller set it apart
            if uri.startswith("models:/"):
                from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

                underlying = ModelsArtifactRepository.get_underlying_uri(uri)
            else:
                from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

                underlying = RunsArtifactRepository.get_underlying_uri(uri, store)
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for a missing model or store
        raise _store_error(uri, store, exc) from None
    finally:  # MLflow's context restores its own setting by clearing MLFLOW_TRACKING_URI: put the caller's back
        if caller_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = caller_uri
    if scheme_of(underlying) == "file":
        underlying = unquote(urlparse(underlying).path)
    if ":" not in underlying.split("/", 1)[0]:  # a local path
        folder = Path(underlying)
        if not folder.is_dir():
            raise ConfigError(f"{uri}: its files are not at {folder} (the MLflow store's artifact folder)")
        return str(rater_folder_in(folder) or folder)
    if is_remote(underlying):
        from fsspec.registry import known_implementations

        if scheme_of(underlying) in known_implementations:
            model = Destination(underlying)
            return model.url(f"artifacts/{ARTIFACT}") if model.exists("MLmodel") else underlying.rstrip("/")
    return uri


def download_rater(uri: str) -> Path:
    """The rater folder of the MLflow model at ``uri``, downloaded into a temporary folder once per process (for
    stores that only MLflow reads; see ``resolve_mlflow_uri``)."""
    if uri not in _downloads:
        import atexit

        from curation.scratch_dirs import make_scratch_dir
        from curation.tracking import tracking_uri

        scratch = make_scratch_dir("curation-mlflow-model-")
        atexit.register(shutil.rmtree, str(scratch), True)
        store = tracking_uri()
        try:
            import mlflow

            local = Path(
                mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(scratch), tracking_uri=store)
            )
        except Exception as exc:  # noqa: BLE001 - MLflow raises many types for a missing model or store
            shutil.rmtree(scratch, ignore_errors=True)
            raise _store_error(uri, store, exc) from None
        _downloads[uri] = rater_folder_in(local) or local  # an MLflow model, or a rater folder logged as is
    return _downloads[uri]


def _staged_rater(local: Path, into: Path) -> Path:
    """A copy of the rater folder without training state (a DataRater's ``checkpoint/``) or hidden files."""
    from curation.staged_folder import visible
    from raters.model_folder import SKIP_ON_LOAD

    target = into / ARTIFACT
    for path in sorted(local.rglob("*")):
        relative = path.relative_to(local).as_posix()
        if not path.is_file() or relative.startswith(SKIP_ON_LOAD) or not visible(relative):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
    return target


def _abridged(value: Any) -> Any:
    """A config for the card: long lists and strings shortened, so a card stays readable."""
    if isinstance(value, dict):
        return {key: _abridged(item) for key, item in value.items()}
    if isinstance(value, list):
        head = [_abridged(item) for item in value[:8]]
        return head + [f"... {len(value) - 8} more"] if len(value) > 8 else head
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "..."
    return value


def model_card(scorer, location: str, rater: Path) -> tuple[str, dict[str, Any]]:
    """The card (Markdown) of the rater folder ``rater`` loaded as ``scorer``, and its facts for MLmodel."""
    import curation
    from curation.corpus import file_sha256

    config = {}
    if scorer.config_file and (rater / scorer.config_file).is_file():
        config = json.loads((rater / scorer.config_file).read_text(encoding="utf-8"))
    files = []
    for path in sorted(p for p in rater.rglob("*") if p.is_file()):
        files.append((path.relative_to(rater).as_posix(), path.stat().st_size, file_sha256(path)))
    direction = "lower is better" if scorer.lower_is_better else "higher is better"
    facts = {
        "curation.kind": scorer.kind,
        "curation.score_column": scorer.column,
        "curation.lower_is_better": scorer.lower_is_better,
        "curation.source": location,
        "curation.version": curation.__version__,
        "curation.config_file": scorer.config_file,
    }
    lines = [
        f"# Rater `{scorer.column}` ({scorer.kind})",
        "",
        f"- **Scores**: {WHAT_IT_SCORES.get(scorer.kind, scorer.kind)}; {direction}.",
        f"- **Output**: one float per text, column `{scorer.column}` (a text without words: NaN, or 0 for DSIR).",
        f"- **Saved from**: `{location}` by curation {curation.__version__}, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        "## Trained with",
        "",
        f"The rater's own record (`{scorer.config_file}`), abridged: its settings, training data and any held-out "
        "metrics its training measured.",
        "",
        "```json",
        json.dumps(_abridged(config), indent=2, sort_keys=True, default=str),
        "```",
        "",
        "## Use",
        "",
        "```python",
        "import mlflow, pandas as pd",
        "model = mlflow.pyfunc.load_model(MODEL_URI)  # model_config={'device': 'cuda'} for torch raters on a GPU",
        "scores = model.predict(pd.DataFrame({'text': ['A document.', 'Another one.']}))",
        "```",
        "",
        f"A corpus, with Spark: `{SCORE_COMMAND.get(scorer.kind, 'curate raters ... score')} CORPUS --model MODEL_URI "
        "--out ATTRIBUTES` (any `--model` option and a pipeline's `raters` section take `models:/` and `runs:/` "
        'URIs). In datatrove: `RaterFilter("MODEL_URI", threshold)` from `raters.datatrove_filter`.',
        "",
        "## Limits",
        "",
        "- The score reflects the data the rater was trained toward (above), not quality in general. Compare a "
        "selection by this score with the heuristic rule and a random one (`curate validate`) on your own data "
        "before training on it: on the project's measured pools no learned rater beat the heuristic rule yet.",
        "- Scores of different raters, and of one rater retrained, are on different scales: choose thresholds per "
        "model (`curate top` keeps a share or a token budget instead).",
        "",
        "## Files",
        "",
        "| file | bytes | sha256 |",
        "|---|---:|---|",
        *[f"| `{name}` | {size:,} | `{digest}` |" for name, size, digest in files],
        "",
    ]
    return "\n".join(lines), facts


def _saved(location: str, local: Path, out: Path, device: str) -> tuple[Any, str]:
    """The rater at ``location`` (``model_location``), on local disk at ``local``, saved as an MLflow model folder
    at ``out``; returns its card's facts and the card."""
    import tempfile
    import warnings

    import mlflow
    import pandas as pd
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from raters.model_folder import errors_named
    from raters.text_scorer import load_scorer

    with errors_named(local, location):
        scorer = load_scorer(local, "cpu")  # fails here, in one line, when the folder is no rater
    with tempfile.TemporaryDirectory(prefix="curation-mlflow-save-") as scratch:
        rater = _staged_rater(local, Path(scratch))
        card, facts = model_card(scorer, location, rater)
        (Path(scratch) / CARD).write_text(card, encoding="utf-8")
        signature = ModelSignature(
            inputs=Schema([ColSpec("string", "text")]), outputs=Schema([ColSpec("double", scorer.column)])
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's advice about type hints and input examples
            mlflow.pyfunc.save_model(
                str(out),
                python_model=str(CODE),
                artifacts={ARTIFACT: str(rater), "model_card": str(Path(scratch) / CARD)},
                signature=signature,
                # MLflow loads the saved model and scores the example: a check, where the device is this machine's
                input_example=pd.DataFrame({"text": ["An example document to score."]}) if device == "cpu" else None,
                pip_requirements=[f"curation=={facts['curation.version']}"],
                metadata={**facts, "model_card": f"artifacts/{CARD}"},
                model_config={"device": device, "batch_size": 32},
            )
    return facts, card


def _located(model: str | os.PathLike, device: str) -> tuple[str, Path]:
    """``model``'s location and local folder, resolved once (an MLflow URI asks its store once)."""
    from raters.model_folder import local_model_folder, model_location

    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, not {device!r}")
    location = model_location(model)
    return location, local_model_folder(location)


def save_mlflow_model(
    model: str | os.PathLike, out: str | os.PathLike, *, device: str = "cpu", overwrite: bool = False
):
    """Write the rater folder ``model`` (a path, a URL or an MLflow URI) as an MLflow model folder at ``out`` (a
    new local folder, or an existing one with ``overwrite``, replaced only once the new one is complete).
    ``device`` is where the model's torch raters score by default. Returns ``out``."""
    from curation.storage import is_remote, mangled_url

    if is_remote(str(out)) or mangled_url(out):
        raise ConfigError(f"--out {out}: save-model writes a local folder; use `curate raters log-model` for a store")
    out = Path(out).resolve()
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists; pass --overwrite or choose another --out")
    location, local = _located(model, device)
    source = local.resolve()
    if out == source or out in source.parents or source in out.parents:
        raise ConfigError(f"--out {out} overlaps the rater folder {source}; choose another --out")
    staging = out.with_name(f".{out.name}.tmp")
    old = out.with_name(f".{out.name}.old")
    for leftover in (staging, old):
        shutil.rmtree(leftover, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _saved(location, local, staging, device)
        if out.exists():
            out.rename(old)  # the previous model stays whole until the new one is complete
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out


REGISTERED_NAME = re.compile(r"[^/:]+")
DESCRIPTION_LIMIT = 5000  # MLflow's model-version description column (a database store refuses longer text)


def log_mlflow_model(
    model: str | os.PathLike, *, register: str | None = None, device: str = "cpu", run_name: str = "raters:log-model"
) -> LoggedRater:
    """Log the rater folder ``model`` as an MLflow model into a new run (its card also as ``model_card.md`` of the
    run); with ``register``, as a new version of that registered model, whose description is the card."""
    import tempfile

    from curation.errors import TrackingError
    from curation.tracking import first_line, stage_run

    if register is not None and not REGISTERED_NAME.fullmatch(register):
        raise ConfigError(f"--register {register!r}: a registered model's name is not empty and has no '/' or ':'")
    with tempfile.TemporaryDirectory(prefix="curation-mlflow-log-") as scratch:
        saved = Path(scratch) / "model"
        facts, card = _saved(*_located(model, device), saved, device)
        try:
            import mlflow

            with stage_run(run_name, {"model": facts["curation.source"], "register": register}) as run:
                run.set_tags({key: str(value) for key, value in facts.items()})
                mlflow.log_artifacts(str(saved), ARTIFACT)
                mlflow.log_text(card, CARD)
                run_id = run.run_id
            logged = LoggedRater(model_uri=f"runs:/{run_id}/{ARTIFACT}", run_id=run_id)
            if register:
                version = mlflow.register_model(logged.model_uri, register)
                mlflow.MlflowClient().update_model_version(register, version.version, description=_description(card))
                logged.registered_name, logged.registered_version = register, str(version.version)
        except mlflow.exceptions.MlflowException as exc:
            raise TrackingError(f"log-model: MLflow refused it: {first_line(exc)}") from None
    return logged


def _description(card: str) -> str:
    """The card as a registered version's description, cut to what a database store takes."""
    if len(card) <= DESCRIPTION_LIMIT:
        return card
    note = f"\n\n(cut here: the whole card is the model's artifact {CARD})"
    return card[: DESCRIPTION_LIMIT - len(note)].rsplit("\n", 1)[0] + note
