"""An output folder written by ordinary local-file code, on local disk or on a URL (``s3://``, any fsspec URL).

A stage that writes a folder of files (a trained model, a validation, a Meta-rater fit) writes into
``StagedFolder.local`` with the same code as always. For a local output that folder *is* the output; for a
URL it is a local staging folder, and the stage uploads from it: ``upload`` for files that are final as soon
as they are written (a finished proxy run), ``mirror`` for a resumable checkpoint folder (every file, its
pointer file last, then the stale files deleted), ``publish`` for the finished output, the file that marks
it complete (its *marker*) last, so a reader never sees a marker beside missing files. ``pull`` downloads
remote state (checkpoints, finished runs) into the staging folder before a stage resumes from it. The
staging folder is removed once the process is done with it.

Every call is a no-op for a local folder, so a stage's local behaviour and bytes do not change.
"""

from __future__ import annotations

import os
import shutil
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import ConfigError, CurationError
from curation.scratch_dirs import make_scratch_dir
from curation.storage import (
    filesystem,
    is_remote,
    local_path,
    redacted,
    refuse_credentials,
    refuse_mangled_url,
)


def folder_location(out: str | os.PathLike, hint: str = "pass a URL as a string") -> str:
    """An output folder as manifests and MLflow record it: the URL as given (without a trailing slash), or
    the local folder resolved. A URL that a ``pathlib.Path`` mangled (``s3:/bucket``) is refused."""
    text = str(out)
    refuse_credentials(text)
    if is_remote(text):
        return text.rstrip("/")
    refuse_mangled_url(text, hint)
    return str(Path(local_path(text)).resolve())


def remote_error(location: str, exc: BaseException) -> CurationError:
    """A filesystem's failure under ``location`` as one line naming it (a typed error passes through)."""
    from curation.storage import remote_error as named

    return exc if isinstance(exc, CurationError) else named(redacted(location), exc)


def visible(relative: str) -> bool:
    """A file of the folder: no hidden or temporary names (``.dsir.safetensors.123.tmp``, fastText scratch)."""
    return not any(part.startswith(".") for part in relative.split("/"))


def _file_identity(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "md5Hash", "crc32c", "content_md5", "mtime", "LastModified", "last_modified"):
        if info.get(key):
            return f"{key}:{str(info[key]).strip(chr(34))}"
    return ""


def remote_files(location: str, skip: Sequence[str] = ()) -> dict[str, str]:
    """The files under the URL by relative name: their size and identity (ETag, ...); none when nothing is
    there. Hidden names and names under ``skip`` are left out."""
    fs, root = filesystem(location)
    root = root.rstrip("/")
    try:
        fs.invalidate_cache(root)  # written in this process (or elsewhere) since it was last listed
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    except Exception as exc:  # noqa: BLE001 - botocore and friends raise their own types (no credentials, ...)
        raise remote_error(location, exc) from exc
    files = {}
    for name, info in found.items():
        relative = name[len(root) + 1 :] if name.startswith(root + "/") else None
        if relative and visible(relative) and not relative.startswith(tuple(skip)) and info.get("type") != "directory":
            files[relative] = f"{info.get('size')}|{_file_identity(info)}"
    return files


@contextmanager
def errors_named(local: Path, location: str) -> Iterator[None]:
    """A ``ConfigError`` about the local copy names the URL instead (nothing changes locally)."""
    try:
        yield
    except ConfigError as exc:
        if str(local) == location or str(local) not in str(exc):
            raise
        raise ConfigError(str(exc).replace(str(local), redacted(location))) from exc


class StagedFolder:
    """Where a stage writes an output folder. ``local`` is the folder the stage writes (the output itself, or
    a staging folder for a URL); ``location`` and ``path`` name the output in parameters and summaries.
    ``marker`` is the file that marks the folder complete, published last."""

    def __init__(self, out: str | os.PathLike, marker: str, hint: str = "pass a URL as a string"):
        self.location = folder_location(out, hint)
        self.remote = is_remote(self.location)
        self.marker = marker
        if self.remote:
            self.local = make_scratch_dir("curation-folder-staging-")
            weakref.finalize(self, shutil.rmtree, str(self.local), True)
        else:
            self.local = Path(self.location)

    @property
    def path(self) -> Path | str:
        """The output as stages report it: a ``Path`` locally, the URL of a remote folder."""
        return self.location if self.remote else self.local

    def errors_named(self):
        """``errors_named`` for the staging folder: errors about it name the URL (nothing changes locally)."""
        from contextlib import nullcontext

        return errors_named(self.local, self.location) if self.remote else nullcontext()

    def check_writable(self) -> None:
        """A URL that nothing can be written to fails now, in one line (nothing to check locally: the stage
        creates the folder)."""
        if self.remote:
            self._destination().check_writable()

    def read_bytes(self, relative: str) -> bytes | None:
        """The output's file ``relative`` (at the URL for a remote folder), or None when there is none."""
        try:
            return self._destination().read_bytes(relative)
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
            raise remote_error(self.location, exc) from exc

    def pull(self, folder: str) -> None:
        """Copy the remote files under ``folder`` into the staging folder (resuming from remote state)."""
        if not self.remote:
            return
        names = [n for n in remote_files(self.location) if n.startswith(folder.rstrip("/") + "/")]
        fs, root = filesystem(self.location)
        try:
            for name in sorted(names):
                (self.local / name).parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(f"{root.rstrip('/')}/{name}", str(self.local / name))
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
            raise remote_error(self.location, exc) from exc

    def upload(self, names: Sequence[str]) -> None:
        """Upload the staged files ``names`` (relative), in that order."""
        if self.remote:
            self._upload(names, last=None)

    def mirror(self, folder: str, last: str) -> None:
        """Make the remote ``folder`` hold what the staging ``folder`` holds: upload every file, ``last``
        last, then delete the remote files that are no longer there locally."""
        if not self.remote:
            return
        prefix = folder.rstrip("/") + "/"
        self._upload([n for n in self._staged() if n.startswith(prefix)], last)
        self.prune(folder)

    def prune(self, folder: str) -> None:
        """Delete the remote files under ``folder`` that the staging ``folder`` no longer holds."""
        if not self.remote:
            return
        prefix = folder.rstrip("/") + "/"
        staged = set(self._staged())
        for name in sorted(n for n in remote_files(self.location) if n.startswith(prefix) and n not in staged):
            self.remove(name)

    def remove(self, relative: str) -> None:
        """Remove the file at the URL too, if it is there (the staging copy is the caller's)."""
        if self.remote:
            self._destination().remove(relative)

    def remove_tree(self, folder: str) -> None:
        """Remove ``folder`` at the URL too (the staging copy is the caller's)."""
        if self.remote:
            self._destination().remove_tree(folder)

    def publish(self, skip: Sequence[str] = ()) -> None:
        """Upload the finished folder: every staged file but those under ``skip``, the marker last. Nothing to
        do for a local folder."""
        if not self.remote:
            return
        self._upload([n for n in self._staged() if not n.startswith(tuple(skip))], self.marker)

    def _staged(self) -> list[str]:
        names = (p.relative_to(self.local).as_posix() for p in self.local.rglob("*") if p.is_file())
        return sorted(n for n in names if visible(n))

    def _upload(self, names: Sequence[str], last: str | None) -> None:
        fs, root = filesystem(self.location)
        ordered = [n for n in names if n != last] + [n for n in names if n == last]
        try:
            for name in ordered:
                fs.put_file(str(self.local / name), f"{root.rstrip('/')}/{name}")
        except Exception as exc:  # noqa: BLE001 - each filesystem raises its own errors; each becomes one line
            raise remote_error(self.location, exc) from exc

    def _destination(self):
        from curation.destination import Destination

        return Destination(self.location)
