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
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import ConfigError, CurationError
from curation.storage import filesystem, is_remote, local_path, mangled_url, redacted, refuse_credentials

SKIP_ON_LOAD = ("checkpoint/",)  # DataRater's resumable meta-training state: not part of the model

_downloads: dict[tuple[str, str], Path] = {}  # (URL, listing digest) -> this process's local copy


def model_location(model: str | os.PathLike) -> str:
    """A model folder as the manifests and MLflow record it: the URL as given (without a trailing slash), or
    the local folder resolved. A URL that a ``pathlib.Path`` mangled (``s3:/bucket``) is refused."""
    text = str(model)
    refuse_credentials(text)
    if is_remote(text):
        return text.rstrip("/")
    if mangled_url(text):
        raise ConfigError(f"{mangled_url(text)}: pass a model URL as a string (a pathlib.Path drops a '/' of it)")
    return str(Path(local_path(text)).resolve())


def _remote_error(location: str, exc: BaseException) -> CurationError:
    from curation.storage import remote_error

    return exc if isinstance(exc, CurationError) else remote_error(redacted(location), exc)


def _visible(relative: str) -> bool:
    """Files of the model: no hidden or temporary names (``.dsir.safetensors.123.tmp``, fastText scratch)."""
    return not any(part.startswith(".") for part in relative.split("/"))


def _file_identity(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "md5Hash", "crc32c", "content_md5", "mtime", "LastModified", "last_modified"):
        if info.get(key):
            return f"{key}:{str(info[key]).strip(chr(34))}"
    return ""


def remote_files(location: str, skip: Sequence[str] = SKIP_ON_LOAD) -> dict[str, str]:
    """The files under the URL by relative name: their size and identity (ETag, ...); none when nothing is
    there. Hidden names and names under ``skip`` are left out."""
    fs, root = filesystem(location)
    root = root.rstrip("/")
    try:
        fs.invalidate_cache(root)  # a model retrained in this process (or elsewhere) under the same URL
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    except Exception as exc:  # noqa: BLE001 - botocore and friends raise their own types (no credentials, ...)
        raise _remote_error(location, exc) from exc
    files = {}
    for name, info in found.items():
        relative = name[len(root) + 1 :] if name.startswith(root + "/") else None
        if relative and _visible(relative) and not relative.startswith(tuple(skip)) and info.get("type") != "directory":
            files[relative] = f"{info.get('size')}|{_file_identity(info)}"
    return files


def local_model_folder(location: str) -> Path:
    """A local folder holding the model at ``location``: the folder itself when local; for a URL, this
    process's download of it (made on first use, again only when the files under the URL change)."""
    if not is_remote(location):
        return Path(local_path(location))
    import hashlib

    listing = remote_files(location)
    if not listing:
        raise ConfigError(f"{redacted(location)}: no such model folder (nothing under it)")
    key = (location, hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest())
    if key not in _downloads:
        _downloads[key] = _download(location, sorted(listing))
    return _downloads[key]


def _download(location: str, names: Sequence[str]) -> Path:
    """``names`` under the URL copied into a new temporary folder, removed when the process exits."""
    import atexit

    folder = Path(tempfile.mkdtemp(prefix="curation-model-"))
    atexit.register(shutil.rmtree, str(folder), True)
    fs, root = filesystem(location)
    try:
        for name in names:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(f"{root.rstrip('/')}/{name}", str(folder / name))
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
        shutil.rmtree(folder, ignore_errors=True)
        raise _remote_error(location, exc) from exc
    return folder


@contextmanager
def errors_named(local: Path, location: str) -> Iterator[None]:
    """A loader's ``ConfigError`` about the downloaded copy names the URL instead (nothing changes locally)."""
    try:
        yield
    except ConfigError as exc:
        if str(local) == location or str(local) not in str(exc):
            raise
        raise ConfigError(str(exc).replace(str(local), redacted(location))) from exc


class ModelOut:
    """Where a trainer writes a model folder. ``local`` is the folder the training writes (``--out`` itself,
    or a staging folder for a URL); ``location`` and ``path`` name ``--out`` in parameters and summaries."""

    def __init__(self, out: str | os.PathLike, marker: str, what: str):
        self.location = model_location(out)
        self.remote = is_remote(self.location)
        self.marker, self.what = marker, what
        if self.remote:
            self.local = Path(tempfile.mkdtemp(prefix="curation-model-staging-"))
            weakref.finalize(self, shutil.rmtree, str(self.local), True)
        else:
            self.local = Path(self.location)

    @property
    def path(self) -> Path | str:
        """``--out`` as the trainers report it: a ``Path`` locally, the URL of a remote folder."""
        return self.location if self.remote else self.local

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

    def errors_named(self):
        """``errors_named`` for the staging folder: errors about it name the URL (nothing changes locally)."""
        from contextlib import nullcontext

        return errors_named(self.local, self.location) if self.remote else nullcontext()

    def check_writable(self) -> None:
        """A URL that nothing can be written to fails now, in one line (nothing to check locally: the
        trainer creates the folder)."""
        if self.remote:
            self._destination().check_writable()

    def pull(self, folder: str) -> None:
        """Copy the remote files under ``folder`` into the staging folder (resuming from remote state)."""
        if not self.remote:
            return
        names = [n for n in remote_files(self.location, skip=()) if n.startswith(folder.rstrip("/") + "/")]
        fs, root = filesystem(self.location)
        try:
            for name in sorted(names):
                (self.local / name).parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(f"{root.rstrip('/')}/{name}", str(self.local / name))
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
            raise _remote_error(self.location, exc) from exc

    def mirror(self, folder: str, last: str) -> None:
        """Make the remote ``folder`` hold what the staging ``folder`` holds: upload every file, ``last``
        last, then delete the remote files that are no longer there locally."""
        if not self.remote:
            return
        prefix = folder.rstrip("/") + "/"
        names = [n for n in self._staged() if n.startswith(prefix)]
        self._upload(names, last)
        stale = [n for n in remote_files(self.location, skip=()) if n.startswith(prefix) and n not in names]
        for name in stale:
            self._destination().remove(name)

    def remove_tree(self, folder: str) -> None:
        """Remove ``folder`` at the URL too (the staging copy is the caller's)."""
        if self.remote:
            self._destination().remove_tree(folder)

    def publish(self, skip: Sequence[str] = ()) -> None:
        """Upload the finished model: every file of the staging folder but those under ``skip``, the marker
        last. Nothing to do for a local folder."""
        if not self.remote:
            return
        self._upload([n for n in self._staged() if not n.startswith(tuple(skip))], self.marker)

    def _staged(self) -> list[str]:
        names = (p.relative_to(self.local).as_posix() for p in self.local.rglob("*") if p.is_file())
        return sorted(n for n in names if _visible(n))

    def _upload(self, names: Sequence[str], last: str) -> None:
        fs, root = filesystem(self.location)
        ordered = [n for n in names if n != last] + [n for n in names if n == last]
        try:
            for name in ordered:
                fs.put_file(str(self.local / name), f"{root.rstrip('/')}/{name}")
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
            raise _remote_error(self.location, exc) from exc

    def _destination(self):
        from curation.destination import Destination

        return Destination(self.location)


@contextmanager
def opened_model_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """The model folder as a local path for the ``with`` block: ``folder`` itself (as given), or this
    process's download of a URL, whose loader errors then name the URL."""
    if not is_remote(str(folder)):
        yield Path(folder)
        return
    location = model_location(folder)
    local = local_model_folder(location)
    with errors_named(local, location):
        yield local
