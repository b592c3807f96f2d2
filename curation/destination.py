"""Where a stage commits its files: a local directory, or a URL prefix on an object store.

Both keep one rule: a reader trusts only what the manifest lists, and the manifest is written last.

- **Local** (a path or a ``file://`` URL): a file is written under a temporary sibling name and committed by
  ``os.replace``, atomic on one filesystem. Its staging path *is* its place in the directory.
- **Remote** (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``, ...): object stores have no rename, but an
  object becomes visible only once its upload is complete, whole or not at all. So a file is written to a
  local staging file first and then uploaded under its final, deterministic name (``publish``); a JSON
  file (the manifest above all) is one PUT. A retried or speculative task uploads the same bytes under the
  same name. A task killed before it uploads leaves only its local staging file, in the executor's
  temporary directory, nothing remote; the next process on that machine that stages a file removes it
  (``curation.scratch_dirs``). Resume lists what exists remotely.

A ``Destination`` holds only strings, so it travels to Spark tasks; each process opens the filesystem
itself (``curation.storage.filesystem``: credentials from the environment or the storage-options file).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curation.errors import ConfigError
from curation.scratch_dirs import make_scratch_dir
from curation.storage import filesystem, is_remote, local_path, refuse_credentials, refuse_mangled_url

_staging_dirs: dict[str, str] = {}  # remote location -> this process's local staging directory for it


class Destination:
    """An output directory, local or remote, addressed by paths relative to it (``shards/part-00000.parquet``)."""

    def __init__(self, location: str | os.PathLike):
        location = str(location)
        refuse_credentials(location)
        refuse_mangled_url(location)
        self.remote = is_remote(location)
        self.location = location.rstrip("/") if self.remote else str(Path(local_path(location)).resolve())

    def __repr__(self) -> str:
        return f"Destination({self.location!r})"

    def __str__(self) -> str:
        return self.location

    @property
    def path(self) -> Path | str:
        """The location as stages report it: a ``Path`` for a local directory, the URL of a remote one."""
        return self.location if self.remote else Path(self.location)

    def is_location_of(self, root: Path | str) -> bool:
        """Whether ``root`` (an input's directory: a path or a URL) is this directory."""
        other = str(root).rstrip("/") if self.remote else str(Path(local_path(str(root))).resolve())
        return other == self.location

    def sub(self, relative: str) -> Destination:
        """The directory ``relative`` inside this one."""
        return Destination(self.url(relative))

    def url(self, relative: str) -> str:
        """The full path or URL of ``relative``."""
        return f"{self.location}/{relative}" if relative else self.location

    def _fs(self):
        fs, inner = filesystem(self.location)
        return fs, inner.rstrip("/")

    def _remote_path(self, relative: str) -> tuple[Any, str]:
        fs, inner = self._fs()
        return fs, f"{inner}/{relative}" if relative else inner

    def check_writable(self, flag: str = "--out") -> None:
        """Fail before any work if nothing can be written here (a missing bucket, denied access, no
        credentials, an unreachable endpoint): one line naming the location."""
        if not self.remote:
            out = Path(self.location)
            if out.exists() and not out.is_dir():
                raise ConfigError(f"{flag} {out} exists and is not a directory")
            try:
                out.mkdir(parents=True, exist_ok=True)
                probe = out / f".write-probe-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                raise ConfigError(f"{flag} {out} is not writable: {exc.strerror or exc}") from exc
            return
        from curation.storage import remote_error

        fs, probe = self._remote_path(f".write-probe-{os.getpid()}")
        try:
            fs.pipe_file(probe, b"")
            fs.rm_file(probe)
        except Exception as exc:  # noqa: BLE001 - every filesystem raises its own errors; each becomes one line
            raise ConfigError(f"{flag} {remote_error(self.location, exc)}") from exc

    def exists(self, relative: str) -> bool:
        if not self.remote:
            return os.path.isfile(self.url(relative))
        fs, path = self._remote_path(relative)
        fs.invalidate_cache(path.rpartition("/")[0])  # other processes (Spark tasks) write here
        return bool(fs.exists(path))

    def read_bytes(self, relative: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        try:
            if not self.remote:
                return Path(self.url(relative)).read_bytes()
            fs, path = self._remote_path(relative)
            return fs.cat_file(path)
        except (FileNotFoundError, NotADirectoryError):  # a file where a folder of the path should be: none here
            return None

    def write_json(self, relative: str, payload: dict[str, Any]) -> None:
        """Commit a JSON file: by rename locally (after fsync), in one PUT remotely."""
        if not self.remote:
            from curation.corpus import write_json_atomic

            write_json_atomic(Path(self.url(relative)), payload)
            return
        from curation.corpus import json_bytes

        fs, path = self._remote_path(relative)
        fs.pipe_file(path, json_bytes(payload))

    def staging_path(self, relative: str) -> Path:
        """Where this process writes the file before ``publish``: its final place for a local directory, a
        local temporary directory for a remote one."""
        if not self.remote:
            return Path(self.url(relative))
        if self.location not in _staging_dirs:
            _staging_dirs[self.location] = str(make_scratch_dir("curation-staging-"))
        return Path(_staging_dirs[self.location]) / relative

    def publish(self, relative: str) -> None:
        """Make the staged file visible under its final name (remote: upload it, then drop the local copy;
        local: it already is)."""
        if not self.remote:
            return
        staged = self.staging_path(relative)
        fs, path = self._remote_path(relative)
        fs.put_file(str(staged), path)
        staged.unlink()
        root = Path(_staging_dirs[self.location])
        folder = staged.parent
        while folder != root.parent:  # empty folders of the staging tree go too; callers create them again
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def commit_file(self, relative: str, write: Callable[[Path], object], tag: str) -> str:
        """Write a file through ``write(path)`` and commit it under ``relative``; return its sha256. The file
        is written under a temporary name tagged ``tag`` (the task attempt), renamed into its staging place,
        then published. A failed write leaves no temporary file behind."""
        from curation.corpus import commit, file_sha256, temporary_path

        staged = self.staging_path(relative)
        tmp = temporary_path(staged, tag)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(tmp)
            digest = file_sha256(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a retried task starts from scratch
            raise
        commit(tmp, staged)
        self.publish(relative)
        return digest

    def copy(self, source: str, relative: str) -> None:
        """Commit a copy of the file ``source`` (relative to this directory) under ``relative``."""
        if self.remote:
            fs, path = self._remote_path(relative)
            fs.copy(self._remote_path(source)[1], path)
            return
        import shutil

        from curation.corpus import commit, temporary_path

        final = Path(self.url(relative))
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_path(final)
        shutil.copyfile(self.url(source), tmp)
        commit(tmp, final)

    def list(self, folder: str) -> list[str]:
        """Names of the files directly in ``folder`` (none when it does not exist)."""
        if not self.remote:
            path = Path(self.url(folder))
            return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []
        fs, path = self._remote_path(folder)
        fs.invalidate_cache(path)
        try:
            entries = fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        return sorted(e["name"].rstrip("/").rpartition("/")[2] for e in entries if e.get("type") == "file")

    @contextmanager
    def local_copy(self, relative: str) -> Iterator[Path]:
        """The file as a local path for the ``with`` block: itself locally, a temporary download remotely
        (for ``mlflow.log_artifact``, which takes paths)."""
        if not self.remote:
            yield Path(self.url(relative))
            return
        import shutil

        folder = make_scratch_dir("curation-copy-")
        try:
            local = folder / relative.rpartition("/")[2]
            fs, path = self._remote_path(relative)
            fs.get_file(path, str(local))
            yield local
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def make_folder(self, relative: str) -> None:
        """Create the folder locally; object stores have no empty folders, so nothing there."""
        if not self.remote:
            Path(self.url(relative)).mkdir(parents=True, exist_ok=True)

    def remove(self, relative: str) -> None:
        """Remove the file if it is there."""
        if not self.remote:
            Path(self.url(relative)).unlink(missing_ok=True)
            return
        fs, path = self._remote_path(relative)
        try:
            fs.rm_file(path)
        except FileNotFoundError:
            pass

    def remove_tree(self, relative: str) -> None:
        """Remove the folder ``relative`` and everything in it, if it is there."""
        if not self.remote:
            import shutil

            shutil.rmtree(self.url(relative), ignore_errors=True)
            return
        fs, path = self._remote_path(relative)
        fs.invalidate_cache(path)
        try:
            fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
