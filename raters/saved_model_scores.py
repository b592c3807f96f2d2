"""``SavedModelScores``: the attribute producer of a rater that scores with a saved model folder.

On the driver the model is loaded once to fail fast (before any Spark work) and its files are checksummed
(the checksum goes into the attribute set's config, so a retrained model recomputes the scores). The loaded
model is not pickled: each Python worker loads its own, once. A model folder on a URL is downloaded once per
process (``raters.model_folder``); the attribute set's config names the URL. A torch model uses as many threads as its
Spark task has CPUs (Spark already runs a task per core) and the task's GPU when there is one.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curation.attribute_stage import AttributeProducer
from raters.model_dir import model_checksum


def use_task_cpus() -> None:
    """One torch thread per CPU of the running Spark task (nothing outside a Spark task)."""
    import torch

    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        if context is not None:
            torch.set_num_threads(max(1, context.cpus()))
    except ImportError:
        pass


def task_device(preference: str):
    """The torch device to score on: CPU when asked or when there is no GPU; otherwise the GPU Spark assigned
    to the running task (GPU scheduling), or the default CUDA device."""
    import torch

    if preference == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        from pyspark import TaskContext

        context = TaskContext.get()
        gpus = context.resources().get("gpu") if context is not None else None
        if gpus is not None and gpus.addresses:
            return torch.device(f"cuda:{gpus.addresses[0]}")
    except ImportError:
        pass
    return torch.device("cuda")


class SavedModelScores(AttributeProducer):
    """Subclasses call ``_open`` in ``__init__``, implement ``load_model`` and use ``model()`` in ``compute``."""

    # Torch models: "auto" (the Spark task's GPU when there is one) or "cpu". None: no torch (fastText, numpy).
    device: str | None = None
    # The share of a GPU each Spark task asks for on a cluster (a stage-level profile); 0: none asked.
    gpus_per_task: float = 0.0

    def task_resources(self) -> dict[str, float]:
        if self.device in (None, "cpu") or not self.gpus_per_task:
            return {}
        return {"gpu": self.gpus_per_task}

    def _open(self, model_dir: str | Path, files: Sequence[str]) -> Any:
        """Resolve ``model_dir``, load the model on the driver (fail fast) and checksum ``files``; returns the
        driver's copy, for the facts the producer needs (it is not kept)."""
        from raters.model_folder import model_location

        self.model_dir = model_location(model_dir)
        self._loaded = self._local = None
        model = self._load("cpu")
        self.checksum = model_checksum(self.local_dir(), files)
        return model

    def local_dir(self) -> Path:
        """The model folder on local disk: ``model_dir`` itself, or this process's download of its URL."""
        from raters.model_folder import local_model_folder

        if self._local is None:
            self._local = local_model_folder(self.model_dir)
        return self._local

    def _load(self, device) -> Any:
        from raters.model_folder import errors_named

        with errors_named(self.local_dir(), self.model_dir):
            return self.load_model(device)

    @abstractmethod
    def load_model(self, device) -> Any:
        """The model in ``self.local_dir()``; ``device`` is where a torch model goes (models without torch
        ignore it)."""

    def __getstate__(self) -> dict[str, Any]:
        # Workers load their own, once (fastText models do not pickle), from their own copy of a URL's files
        return {**self.__dict__, "_loaded": None, "_local": None}

    def model(self) -> Any:
        """The loaded model, once per Python worker."""
        if self._loaded is None:
            device = "cpu"
            if self.device is not None:
                use_task_cpus()
                device = task_device(self.device)
            self._loaded = self._load(device)
        return self._loaded
