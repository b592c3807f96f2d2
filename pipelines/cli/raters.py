"""``curate raters ...``: the quality scores Meta-rater combines (DSIR, fastText quality, proxy perplexity,
dimension raters). Each trains (when it needs to) and scores a corpus into its own attribute set."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipelines.cli.options import GpusPerTask, OverwriteAttributes, SparkConf, SparkMaster, Tracking, one_line_errors

raters_app = typer.Typer(
    help="Quality raters: train them and score a corpus, one attribute set per rater.", no_args_is_help=True
)
dsir_app = typer.Typer(
    help="DSIR (Xie et al., 2023): hashed n-gram importance weights, log p_target(x) - log p_raw(x).",
    no_args_is_help=True,
)
fasttext_app = typer.Typer(
    help="fastText quality classifier (DCLM-style): P(high quality) from words and word bigrams.",
    no_args_is_help=True,
)
perplexity_app = typer.Typer(
    help="Proxy perplexity (CCNet-style): bits per byte under a small LM trained on reference text.",
    no_args_is_help=True,
)
dimension_app = typer.Typer(
    help="Dimension raters (Meta-rater's PRRC): a 0-5 score per quality dimension, trained from annotations.",
    no_args_is_help=True,
)
raters_app.add_typer(dsir_app, name="dsir")
raters_app.add_typer(fasttext_app, name="fasttext")
raters_app.add_typer(perplexity_app, name="perplexity")
raters_app.add_typer(dimension_app, name="dimension")

WIKIPEDIA = "../shared/data/reference/enwiki-6514-articles.jsonl.gz"
SPEC = "a corpus directory, Parquet or JSONL(.gz/.zst) file with a 'text' field, or plain text (NAME=PATH or PATH)"

# Options shared by the commands below.
Corpus = Annotated[
    str, typer.Argument(help="The corpus to score (a directory written by `curate ingest`): a path or a URL.")
]
AttributesOut = Annotated[
    str, typer.Option("--out", "-o", help="Attribute set directory for the scores: a path or a URL.")
]
ModelOut = Annotated[str, typer.Option("--out", "-o", help="Model directory to write: a path or a URL.")]
OverwriteModel = Annotated[bool, typer.Option("--overwrite", help="Replace a model already in --out.")]
Seed = Annotated[int, typer.Option(help="Seed of the held-out split and the training.")]
MaxBytes = Annotated[
    Optional[int], typer.Option(help="Read a seeded sample of about this many bytes from each source (default: all).")
]
Epoch = Annotated[int, typer.Option(help="fastText epochs.")]
Lr = Annotated[float, typer.Option(help="fastText learning rate (linearly decayed to 0).")]
WordNgrams = Annotated[int, typer.Option(help="fastText word n-gram length (2: words and bigrams).")]
Dim = Annotated[int, typer.Option(help="fastText embedding size.")]
Bucket = Annotated[int, typer.Option(help="fastText hash buckets for word n-grams (model size: bucket x dim x 4 B).")]
Threads = Annotated[
    int, typer.Option("--thread", help="fastText training threads (more than 1: faster but not reproducible).")
]


def _score(corpus: str, producer, out: str, master, conf, tracking: bool, overwrite: bool) -> None:
    from curation.attribute_stage import run_attribute_stage
    from curation.spark import parse_conf

    result = run_attribute_stage(
        corpus, producer, out, master=master, spark_conf=parse_conf(conf), tracking=tracking, overwrite=overwrite
    )
    for field in producer.output_schema():
        stats = result.manifest["summary"][field.name]
        if stats["mean"] is None:
            typer.echo(f"{field.name}: no defined values ({stats['undefined']:,} undefined)")
            continue
        undefined = f", {stats['undefined']:,} undefined" if stats["undefined"] else ""
        typer.echo(f"{field.name}: mean {stats['mean']:.4f}, min {stats['min']:.4f}, max {stats['max']:.4f}{undefined}")
    typer.echo(f"attributes: {result.root}")


# ---------------------------------------------------------------------------------------------------- DSIR


@dsir_app.command("fit")
def dsir_fit(
    target: Annotated[list[str], typer.Option(help=f"Target text, repeatable: {SPEC}. Example: {WIKIPEDIA}")],
    raw: Annotated[list[str], typer.Option(help="Raw text (the pool to select from), repeatable; same forms.")],
    out: ModelOut,
    buckets: Annotated[int, typer.Option(help="Hash buckets for word unigrams and bigrams (DSIR: 10,000).")] = 10_000,
    smoothing: Annotated[
        float, typer.Option(help="Pseudo-count added to every bucket of both distributions (1 = add-one).")
    ] = 1.0,
    heldout_fraction: Annotated[
        float, typer.Option(help="Share of each side's documents held out to measure the separation (0: none).")
    ] = 0.1,
    seed: Seed = 0,
    max_bytes: MaxBytes = None,
    tracking: Tracking = True,
    overwrite: OverwriteModel = False,
) -> None:
    """Fit DSIR's two bags of hashed n-grams: one on the target text, one on the raw pool.

    Words are lowercased and split like NLTK's WordPunctTokenizer; every word and word bigram is hashed
    (SHA-256 mod --buckets) and counted; both distributions are smoothed with --smoothing. Held-out AUC
    (target vs raw documents) is printed, logged to MLflow and written to MODEL_DIR/metrics.json.

    Example: curate raters dsir fit --target ../shared/data/reference/enwiki-6514-articles.jsonl.gz
    --raw runs/corpus --out models/dsir
    """
    with one_line_errors():
        from raters.dsir.fitting import run_dsir_fit

        result = run_dsir_fit(
            target, raw, out, buckets=buckets, smoothing=smoothing, heldout_fraction=heldout_fraction,
            seed=seed, max_bytes=max_bytes, tracking=tracking, overwrite=overwrite,
        )  # fmt: skip
        typer.echo(f"model: {result.out}")


@dsir_app.command("score")
def dsir_score(
    corpus: Corpus,
    model: Annotated[
        str,
        typer.Option(
            help="A model directory written by `curate raters dsir fit`: a path, a URL or an MLflow model URI (models:/NAME/VERSION)."
        ),
    ],
    out: AttributesOut,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Score every document: dsir_log_ratio = sum over its hashed n-grams of log p_target - log p_raw
    (float32; higher = closer to the target; like DSIR, not length-normalised). Spark, one task per shard."""
    with one_line_errors():
        from raters.dsir.scoring import DsirScores

        _score(corpus, DsirScores(model), out, master, conf, tracking, overwrite)


# ------------------------------------------------------------------------------------------------ fastText


def _fasttext_settings(epoch, lr, word_ngrams, dim, bucket, thread, seed):
    from raters.fasttext_quality.supervised import FastTextSettings

    return FastTextSettings(
        epoch=epoch, lr=lr, word_ngrams=word_ngrams, dim=dim, bucket=bucket, thread=thread, seed=seed
    )


@fasttext_app.command("train")
def fasttext_train(
    positive: Annotated[
        list[str], typer.Option(help=f"High-quality text (__label__hq), repeatable: {SPEC}. Example: {WIKIPEDIA}")
    ],
    negative: Annotated[list[str], typer.Option(help="Low-quality text (__label__lq), repeatable; same forms.")],
    out: ModelOut,
    epoch: Epoch = 10,
    lr: Lr = 0.5,
    word_ngrams: WordNgrams = 2,
    dim: Dim = 32,
    bucket: Bucket = 100_000,
    thread: Threads = 1,
    heldout_fraction: Annotated[float, typer.Option(help="Share of each class held out for the metrics.")] = 0.1,
    seed: Seed = 0,
    max_bytes: MaxBytes = None,
    tracking: Tracking = True,
    overwrite: OverwriteModel = False,
) -> None:
    """Train a fastText classifier of high- vs low-quality documents (DCLM-style).

    Texts become one line each; a seeded share of each class is held out. Held-out accuracy, precision and
    recall of hq and ROC AUC are printed, logged to MLflow and written to MODEL_DIR/metrics.json. One
    training thread by default, so the same seed and data give the same model.

    Example: curate raters fasttext train --positive ../shared/data/reference/enwiki-6514-articles.jsonl.gz
    --negative runs/corpus --out models/fasttext-quality
    """
    with one_line_errors():
        from raters.fasttext_quality.training import run_fasttext_train

        settings = _fasttext_settings(epoch, lr, word_ngrams, dim, bucket, thread, seed)
        result = run_fasttext_train(
            positive, negative, out, settings, heldout_fraction=heldout_fraction, max_bytes=max_bytes,
            tracking=tracking, overwrite=overwrite,
        )  # fmt: skip
        typer.echo(f"model: {result.out}")


@fasttext_app.command("score")
def fasttext_score(
    corpus: Corpus,
    model: Annotated[
        str,
        typer.Option(
            help="A model directory written by `curate raters fasttext train`: a path, a URL or an MLflow model URI (models:/NAME/VERSION)."
        ),
    ],
    out: AttributesOut,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Score every document: fasttext_quality = P(hq) (float32 in [0, 1]; NaN for a text without words).
    Spark, one task per shard; each worker loads the model once."""
    with one_line_errors():
        from raters.fasttext_quality.scoring import FastTextQualityScores

        _score(corpus, FastTextQualityScores(model), out, master, conf, tracking, overwrite)


# ---------------------------------------------------------------------------------------------- perplexity


@perplexity_app.command("train")
def perplexity_train(
    out: ModelOut,
    reference: Annotated[
        str, typer.Option(help=f"Reference text the LM learns: {SPEC}. Example: {WIKIPEDIA}", show_default=False)
    ],
    size: Annotated[str, typer.Option(help="Proxy size: tiny (0.1M parameters) or small (0.8M).")] = "tiny",
    tokens: Annotated[str, typer.Option(help="Training tokens, e.g. 500k or 2M.")] = "2M",
    tokenizer: Annotated[
        str, typer.Option(help="bytes (default), bpe:VOCAB (trained on the reference) or a tokenizer.json path.")
    ] = "bytes",
    heldout_fraction: Annotated[
        float, typer.Option(help="Share of the reference documents held out (at most 200 kB) for bits per byte.")
    ] = 0.05,
    seed: Seed = 0,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    tracking: Tracking = True,
    overwrite: OverwriteModel = False,
) -> None:
    """Train a proxy LM on reference text for CCNet-style perplexity scoring.

    The proxy (curation/proxy, byte-level by default) trains for --tokens; held-out bits per byte is printed
    at each evaluation, logged to MLflow and written to MODEL_DIR/metrics.json. The model is saved as
    safetensors + JSON.

    Example: curate raters perplexity train --reference wiki.jsonl.gz --out models/perplexity --tokens 2M
    """
    with one_line_errors():
        from curation.proxy.config import parse_token_count
        from raters.perplexity.training import run_perplexity_train

        result = run_perplexity_train(
            reference, out, size=size, tokens=parse_token_count(tokens), seed=seed, tokenizer=tokenizer,
            heldout_fraction=heldout_fraction, device=device, tracking=tracking, overwrite=overwrite,
        )  # fmt: skip
        typer.echo(f"model: {result.out}")


@perplexity_app.command("score")
def perplexity_score(
    corpus: Corpus,
    model: Annotated[
        str,
        typer.Option(
            help="A model directory written by `curate raters perplexity train` (or any proxy): a path, a URL or an MLflow model URI (models:/NAME/VERSION)."
        ),
    ],
    out: AttributesOut,
    batch_size: Annotated[int, typer.Option(help="Windows per forward pass.")] = 32,
    device: Annotated[str, typer.Option(help="auto (the task's GPU when present), or cpu.")] = "auto",
    gpus_per_task: GpusPerTask = 0.0,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Score every document: proxy_bpb = its bits per byte under the proxy (float32; lower = more like the
    reference; NaN for an empty text). Spark, one task per shard; each worker loads the model once."""
    with one_line_errors():
        from raters.perplexity.scoring import PerplexityScores

        producer = PerplexityScores(model, batch_size=batch_size, device=device, gpus_per_task=gpus_per_task)
        _score(corpus, producer, out, master, conf, tracking, overwrite)


# ----------------------------------------------------------------------------------------------- dimension


@dimension_app.command("train")
def dimension_train(
    annotations: Annotated[
        str,
        typer.Option(
            help="JSONL(.gz/.zst), a path or a URL: one record per document with 'text' and a score 0-5 "
            "(see --label-field)."
        ),
    ],
    dimension: Annotated[
        str, typer.Option(help="Dimension name, e.g. professionalism, readability, reasoning, cleanliness.")
    ],
    out: ModelOut,
    label_field: Annotated[str, typer.Option(help="Field holding the 0-5 score (fractions round).")] = "score",
    heldout_fraction: Annotated[float, typer.Option(help="Share of each class held out for the metrics.")] = 0.2,
    epoch: Epoch = 10,
    lr: Lr = 0.5,
    word_ngrams: WordNgrams = 2,
    dim: Dim = 32,
    bucket: Bucket = 100_000,
    thread: Threads = 1,
    seed: Seed = 0,
    tracking: Tracking = True,
    overwrite: OverwriteModel = False,
) -> None:
    """Train a rater for one quality dimension from annotations (fastText over the classes 0..5).

    Bad lines are reported with file:line and skipped; too few usable annotations (under 20) or a single
    class fail. Held-out macro-F1, accuracy and Spearman of the expected score against the label are
    printed, logged to MLflow and written to MODEL_DIR/metrics.json.

    Example: curate raters dimension train --annotations labels/readability.jsonl --dimension readability
    --out models/readability
    """
    with one_line_errors():
        from raters.dimension.training import run_dimension_train

        settings = _fasttext_settings(epoch, lr, word_ngrams, dim, bucket, thread, seed)
        result = run_dimension_train(
            annotations, dimension, out, settings, label_field=label_field, heldout_fraction=heldout_fraction,
            tracking=tracking, overwrite=overwrite,
        )  # fmt: skip
        typer.echo(f"model: {result.out}")


@dimension_app.command("score")
def dimension_score(
    corpus: Corpus,
    model: Annotated[
        str,
        typer.Option(
            help="A model directory written by `curate raters dimension train`: a path, a URL or an MLflow model URI (models:/NAME/VERSION)."
        ),
    ],
    out: AttributesOut,
    master: SparkMaster = None,
    conf: SparkConf = None,
    tracking: Tracking = True,
    overwrite: OverwriteAttributes = False,
) -> None:
    """Score every document: dim_<name> = expected score sum_c c * P(c) (float32 in [0, 5]) and
    dim_<name>_class = the most likely class (int8); NaN / null for a text without words."""
    with one_line_errors():
        from raters.dimension.scoring import DimensionScores

        _score(corpus, DimensionScores(model), out, master, conf, tracking, overwrite)


# ------------------------------------------------------------------------------------------- MLflow models

RaterFolder = Annotated[
    str,
    typer.Argument(
        help="A saved rater: a folder written by `curate raters ... train|fit` or `curate datarater train`, a path "
        "or a URL."
    ),
]
Device = Annotated[str, typer.Option(help="Where the MLflow model's torch raters score by default: cpu or cuda.")]


@raters_app.command("log-model")
def log_model(
    model: RaterFolder,
    register: Annotated[
        Optional[str], typer.Option(help="Register it as a new version of this registered model (created if new).")
    ] = None,
    device: Device = "cpu",
) -> None:
    """Log a saved rater into MLflow as a pyfunc model with a model card, and optionally register it.

    The run goes to the tracking store (MLFLOW_TRACKING_URI, else ./mlflow.db) and experiment
    (CURATION_EXPERIMENT, MLFLOW_EXPERIMENT_ID or MLFLOW_EXPERIMENT_NAME, else curation); see it with
    `mlflow ui --backend-store-uri sqlite:///mlflow.db`. The model scores a DataFrame's `text` column; the card
    (model_card.md, also the registered version's description) says what it scores, what it was trained with,
    its files and its limits. Prints the URIs that `mlflow.pyfunc.load_model` and every `--model` option take.

    Example: curate raters log-model models/fasttext --register quality-fasttext
    """
    with one_line_errors():
        from raters.mlflow_model import log_mlflow_model

        logged = log_mlflow_model(model, register=register, device=device)
        typer.echo(f"model: {logged.model_uri}")
        if logged.registered_uri:
            typer.echo(f"registered: {logged.registered_uri}")


@raters_app.command("save-model")
def save_model(
    model: RaterFolder,
    out: Annotated[str, typer.Option("--out", "-o", help="The MLflow model folder to write (local).")],
    device: Device = "cpu",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a folder already at --out.")] = False,
) -> None:
    """Write a saved rater as an MLflow model folder (pyfunc, with a model card), without a tracking store.

    `mlflow.pyfunc.load_model(OUT)` loads it, `mlflow models serve -m OUT` serves it, and every `--model`
    option takes OUT. Loading runs the model's code (raters/mlflow_pyfunc.py) and unpickles nothing.

    Example: curate raters save-model models/dsir --out models/dsir-mlflow
    """
    with one_line_errors():
        from raters.mlflow_model import save_mlflow_model

        typer.echo(f"model: {save_mlflow_model(model, out, device=device, overwrite=overwrite)}")
