"""A rater's model folder on a URL (``s3://``, ``gs://``, any fsspec URL) as well as on local disk.

Training (``ModelOut``): a trainer writes its model into a local folder with the same code as always. For a
local ``--out`` that folder *is* ``--out``; for a URL it is a local staging folder, and ``publish`` then
uploads its files under their names, the file that marks the folder complete (the rater's config JSON)
last, so a reader never sees a new config beside old or missing weights. Like the local check, a finished
model at the URL is refused unless ``--overwrite``, which deletes its marker before any work (an interrupted
retrain leaves an unfinished folder, never old files under a new config). The staging folder is removed
once the process is done with it.

Scoring (``local_model_folder``): a model folder on a URL is downloaded once per process into a local
temporary folder and loaded from there. The download is keyed by the URL and the listing of its files
(name, size, ETag or the store's checksum): a model retrained under the same URL is downloaded again,
an unchanged one never. A DataRater's ``checkpoint/`` is training state and is not downloaded. Errors of
a loader name the URL, not the temporary copy.

The staging, upload and download of a folder are generic (``curation.staged_folder``, also used by
``curate validate``); this module adds what is particular to models.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from curation import staged_folder
from curation.errors import ConfigError
from curation.staged_folder import StagedFolder, errors_named, folder_location, remote_error
from curation.storage import filesystem, is_remote, local_path, redacted

MODEL_URL_HINT = "pass a model URL as a string"
SKIP_ON_LOAD = ("checkpoint/",)  # DataRater's resumable meta-training state: not part of the model

_downloads: dict[tuple[str, str], Path] = {}  # (URL, listing digest) -> this process's local copy


def model_location(model: str | os.PathLike) -> str:
    """A model folder as the manifests and MLflow record it: the URL as given (without a trailing slash), or
    the local folder resolved. A URL that a ``pathlib.Path`` mangled (``s3:/bucket``) is refused. An MLflow
    model URI (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/ID/PATH``) becomes the place of its
    rater, fixed now (``raters.mlflow_model.resolve_mlflow_uri``)."""
    from raters.mlflow_model import is_mlflow_uri, resolve_mlflow_uri

    if is_mlflow_uri(model):
        return resolve_mlflow_uri(str(model))
    return folder_location(model, MODEL_URL_HINT)


def remote_files(location: str, skip: Sequence[str] = SKIP_ON_LOAD) -> dict[str, str]:
    """The model's files under the URL by relative name: their size and identity (ETag, ...); none when
    nothing is there. Hidden names and names under ``skip`` (training state) are left out."""
    return staged_folder.remote_files(location, skip)


def local_model_folder(location: str) -> Path:
    """A local folder holding the model at ``location``: the folder itself when local (the rater inside it
    when it is an MLflow model folder); for a URL, this process's download of it (made on first use, again
    only when the files under the URL change); for an MLflow URI, this process's download of it."""
    from raters.mlflow_model import download_rater, is_mlflow_uri, rater_folder_in

    if is_mlflow_uri(location):
        return download_rater(location)
    if not is_remote(location):
        folder = Path(local_path(location))
        return rater_folder_in(folder) or folder
    import hashlib

    listing = remote_files(location)
    if not listing:
        raise ConfigError(f"{redacted(location)}: no such model folder (nothing under it)")
    key = (location, hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest())
    if key not in _downloads:
        _downloads[key] = _download(location, sorted(listing))
    return rater_folder_in(_downloads[key]) or _downloads[key]


def _download(location: str, names: Sequence[str]) -> Path:
    """``names`` under the URL copied into a new temporary folder, removed when the process exits."""
    import atexit

    from curation.scratch_dirs import make_scratch_dir

    folder = make_scratch_dir("curation-model-")  # a killed scorer's download is removed by the next one
    atexit.register(shutil.rmtree, str(folder), True)
    fs, root = filesystem(location)
    try:
        for name in names:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root.rstrip('/')}/{name}", str(folder / name))
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
        shutil.rmtree(folder, ignore_errors=True)
        raise remote_error(location, exc) from exc
    return folder


class ModelOut(StagedFolder):
    """Where a trainer writes a model folder. ``local`` is the folder the training writes (``--out`` itself,
    or a staging folder for a URL); ``location`` and ``path`` name ``--out`` in parameters and summaries."""

    def __init__(self, out: str | os.PathLike, marker: str, what: str):
        super().__init__(out, marker, MODEL_URL_HINT)
        self.what = what

    def check_new(self, overwrite: bool) -> None:
        """Refuse to write over a finished model (one with the marker) unless ``overwrite``, which removes the
        marker now. A URL is checked to be writable first (a missing bucket, denied access: one line)."""
        from raters.model_dir import check_model_dir

        if not self.remote:
            check_model_dir(self.local, self.marker, self.what, overwrite)
            return
        self.check_writable()
        destination = self._destination()
        if destination.exists(self.marker):
            if not overwrite:
                raise ConfigError(
                    f"{redacted(self.location)} already holds {self.what}; pass --overwrite or choose another --out"
                )
            destination.remove(self.marker)


@contextmanager
def opened_model_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """The model folder as a local path for the ``with`` block: ``folder`` itself (as given), or this
    process's download of a URL, whose loader errors then name the URL."""
    from raters.mlflow_model import is_mlflow_uri, rater_folder_in

    if not is_remote(str(folder)) and not is_mlflow_uri(folder):
        yield rater_folder_in(Path(folder)) or Path(folder)
        return
    location = model_location(folder)
    local = local_model_folder(location)
    with errors_named(local, location):
        yield local
