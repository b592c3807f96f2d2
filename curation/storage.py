"""Where input data lives: a local path, or a URL of an object store or remote filesystem through fsspec.

Local paths (and ``file://`` URLs) are opened with plain ``open``: the fast path, unchanged. A URL
(``s3://``, ``gs://``, ``abfs://``, ``hdfs://`` and any other scheme fsspec knows) is opened through the
fsspec filesystem for its scheme, whose package is an optional extra (``pip install -e '.[s3]'`` in the checkout); a
missing one is a one-line ``ConfigError`` naming the extra. Remote files are read with ranged requests
(``seek`` + ``read``), so a task that reads one byte range of a big object never downloads the rest.

Credentials and endpoints come from the usual places of each filesystem (for S3: ``AWS_*`` environment
variables, ``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for an S3-compatible store). Spark executors
read the same environment. A URL with credentials in it (``s3://KEY:SECRET@bucket``) is refused, naming it
with the secret redacted.

A storage-options file (``curate --storage-options FILE``, or its path in ``CURATION_STORAGE_OPTIONS``) gives
each scheme's filesystem keyword arguments, JSON or YAML: ``{"s3": {"endpoint_url": ..., "key": ...,
"secret": ...}}``. Only its path travels (to Spark executors as an environment variable); its content is
read where a filesystem is opened and is never written to a manifest, MLflow or a log.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

from curation.errors import ConfigError, InputNotFoundError

# scheme -> the extra of pyproject.toml that installs its filesystem
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "abfs": "azure", "abfss": "azure", "az": "azure"}
READ_BLOCK_BYTES = 2 << 20  # fsspec read-ahead per request: few requests, little read past a split's end
PROBE_READ_AHEAD = 64 << 10  # for reads of a few bytes (a magic number, a footer, the line at an offset)
STORAGE_OPTIONS_ENV = "CURATION_STORAGE_OPTIONS"

_options_cache: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}


def scheme_of(path: str) -> str | None:
    """The URL scheme of ``path`` (``s3``, ``file``, ...), or None for a plain path."""
    head, sep, _ = str(path).partition("://")
    return head.lower() if sep and head.isidentifier() else None


def is_remote(path: str) -> bool:
    """A URL that is not ``file://``: opened through fsspec."""
    return scheme_of(path) not in (None, "file")


def local_path(path: str) -> str:
    """A plain path for a local path or a ``file://`` URL."""
    return str(path)[len("file://") :] if scheme_of(path) == "file" else str(path)


def mangled_url(path: str | os.PathLike) -> str | None:
    """The URL that ``path`` was before a ``pathlib.Path`` made it a path (``Path("s3://b/x")`` is
    ``s3:/b/x``), or None when it was a path all along."""
    scheme, sep, rest = str(path).partition(":/")
    if sep and scheme.isidentifier() and len(scheme) > 1 and not rest.startswith("/"):
        return f"{scheme}://{rest}"
    return None


def refuse_mangled_url(path: str | os.PathLike, hint: str = "pass a URL as a string") -> None:
    """A URL that a ``pathlib.Path`` turned into a path (``s3:/bucket/x``) is one line naming the URL it was,
    not a local directory of that odd name."""
    url = mangled_url(path)
    if url:
        raise ConfigError(f"{redacted(url)}: {hint} (a pathlib.Path drops a '/' of it)")


def redacted(url: str) -> str:
    """``url`` with any ``user:secret@`` part of its authority replaced by ``***@``."""
    head, sep, rest = str(url).partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority and ":" in authority.rpartition("@")[0]:
        return f"{head}://***@{authority.rpartition('@')[2]}{slash}{path}"
    return str(url)


def refuse_credentials(url: str) -> None:
    """A URL that carries a secret (``s3://KEY:SECRET@bucket/...``) is refused: it would end up in manifests,
    MLflow parameters and logs. (``abfs://container@account...`` names no secret and is fine.)"""
    if redacted(url) != str(url):
        raise ConfigError(
            f"{redacted(url)}: URLs with credentials in them are refused (they would be written to manifests and "
            "MLflow); give credentials through the filesystem's environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, "
            "AZURE_STORAGE_*) or its config files"
        )


def load_storage_options(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The storage-options file at ``path``: a mapping of scheme to that filesystem's keyword arguments.
    Errors name the file, never its content."""
    import yaml

    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise ConfigError(f"storage options {path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        loaded = yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"storage options {path}: not valid JSON or YAML{where}") from exc
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and all(isinstance(x, str) for x in v) for k, v in loaded.items()
    ):
        raise ConfigError(
            f"storage options {path}: expected a mapping of scheme to keyword arguments, "
            'e.g. {"s3": {"endpoint_url": "https://...", "key": "...", "secret": "..."}}'
        )
    unknown = sorted(k for k in loaded if not k.isidentifier())
    if unknown:
        raise ConfigError(f"storage options {path}: {unknown[0]!r} is not a URL scheme (s3, gs, abfs, hdfs, ...)")
    return {k.lower(): v for k, v in loaded.items()}


def use_storage_options(path: str | os.PathLike) -> None:
    """Check the file now (a bad one fails before any work) and make every filesystem opened from here on,
    in this process, its children and Spark executors, use it."""
    load_storage_options(path)
    os.environ[STORAGE_OPTIONS_ENV] = os.path.abspath(path)


def storage_options(scheme: str) -> dict[str, Any]:
    """Keyword arguments for ``scheme``'s filesystem from the storage-options file, if one is in use
    (``s3a`` falls back to ``s3``)."""
    path = os.environ.get(STORAGE_OPTIONS_ENV)
    if not path:
        return {}
    try:
        key = (path, os.stat(path).st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"storage options {path} (from {STORAGE_OPTIONS_ENV}): cannot read it") from exc
    if key not in _options_cache:
        _options_cache.clear()
        _options_cache[key] = load_storage_options(path)
    options = _options_cache[key]
    return dict(options.get(scheme) or (options.get("s3") if scheme == "s3a" else None) or {})


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it; a missing package names its extra, a URL with
    credentials in it is refused."""
    import fsspec

    refuse_credentials(url)
    scheme = scheme_of(url) or "file"
    options = storage_options(scheme)
    if scheme in ("gs", "gcs"):
        # gcsfs >= 2025.10 defaults to an experimental filesystem that asks each bucket for its type (zonal,
        # hierarchical), which emulators do not answer; GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=true still selects it
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    try:
        return fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        extra = EXTRAS.get(scheme)
        hint = (
            f"the '{extra}' extra: pip install -e '.[{extra}]' in the curation checkout"
            if extra
            else f"install the fsspec filesystem for {scheme}://"
        )
        raise ConfigError(f"{url}: reading {scheme}:// needs a package that is not installed ({hint})") from exc
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise ConfigError(f"{url}: {exc}") from exc


def as_path(location: str | os.PathLike):
    """A pathlib-style path for ``location``: a ``Path`` for a local one, a ``upath.UPath`` over the fsspec
    filesystem of a URL (with the storage-options file's arguments), for code that walks a directory tree."""
    from pathlib import Path

    if not is_remote(str(location)):
        return Path(local_path(str(location)))
    from upath import UPath

    filesystem(str(location))  # a missing extra or a URL with credentials: one line, as for every other read
    return UPath(str(location), **storage_options(scheme_of(str(location)) or "file"))


def remote_error(url: str, exc: BaseException) -> InputNotFoundError:
    """One line naming ``url`` for a filesystem's failure: denied access, a missing bucket, no endpoint."""
    lines = str(exc).strip().splitlines()  # Azure appends the service's XML reply after the first line
    detail = " ".join(lines[0].split()) if lines else type(exc).__name__
    if isinstance(exc, PermissionError):  # s3fs, gcsfs and adlfs map "access denied" / 403 to it
        return InputNotFoundError(
            f"{url}: access denied; the credentials in use may not read it ({type(exc).__name__}: {detail[:300]})"
        )
    return InputNotFoundError(f"{url}: cannot reach it ({type(exc).__name__}: {detail[:300]})")


class _RemoteRaw(io.RawIOBase):
    """An fsspec file as a raw stream, so ``io.BufferedReader`` gives it the full reader interface
    (``readline(limit)``, ``peek``, ``read1``) that plain files have and the readers use."""

    def __init__(self, remote):
        self.remote = remote

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.remote.readinto(buffer)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.remote.seek(offset, whence)

    def tell(self) -> int:
        return self.remote.tell()

    def close(self) -> None:
        self.remote.close()
        super().close()


def open_binary(path: str, read_ahead: int = READ_BLOCK_BYTES) -> IO[bytes]:
    """A seekable, buffered binary file object for reading ``path``. For a remote object each request fetches
    ``read_ahead`` bytes beyond what was asked: a probe of a few bytes passes ``PROBE_READ_AHEAD``, a reader
    of a byte range at most the range (``benchmarks/object_store.py`` counts the bytes served)."""
    if not is_remote(path):
        return open(local_path(path), "rb")
    fs, inner = filesystem(path)
    remote = fs.open(inner, "rb", block_size=read_ahead, cache_type="readahead")
    return io.BufferedReader(_RemoteRaw(remote), buffer_size=1 << 16)


def size(path: str) -> int:
    """Bytes in the file."""
    if not is_remote(path):
        return os.path.getsize(local_path(path))
    fs, inner = filesystem(path)
    return int(fs.size(inner))


def content_identity(path: str) -> dict[str, str]:
    """What identifies the file's content for the manifest: ``sha256`` of a local file; for a remote object
    the store's own checksum (``etag`` for S3, ``md5Hash`` for GCS, ...), so planning never downloads it."""
    if not is_remote(path):
        from curation.corpus import file_sha256

        return {"sha256": file_sha256(local_path(path))}
    fs, inner = filesystem(path)
    info = fs.info(inner)
    for key in ("ETag", "etag", "md5Hash", "crc32c", "content_md5"):
        if info.get(key):
            return {"etag": f"{key}:{str(info[key]).strip(chr(34))}"}
    return {"etag": f"checksum:{fs.checksum(inner)}"}


_SKIP_NAMES = ("manifest.json", "_SUCCESS")


def _visible(name: str) -> bool:
    return not name.startswith((".", "_")) and name not in _SKIP_NAMES


def resolve_remote(pattern: str) -> list[str]:
    """The files a URL names: itself, every file under it when it is a directory (prefix), or the glob's
    matches; hidden names (``.``, ``_``) and manifests skipped, as for local inputs. Sorted URLs."""
    fs, inner = filesystem(pattern)
    try:
        if any(ch in inner for ch in "*?["):
            matches = sorted(fs.glob(inner))
        elif fs.isfile(inner):
            matches = [inner]
        elif fs.isdir(inner):
            matches = [inner]
        else:
            matches = []
        files = []
        for match in matches:
            if fs.isdir(match):
                for found in sorted(fs.find(match)):
                    parts = found[len(match.rstrip("/")) + 1 :].split("/")
                    if all(_visible(part) for part in parts):
                        files.append(found)
            else:
                files.append(match)
    except (OSError, PermissionError) as exc:
        raise remote_error(pattern, exc) from exc
    except Exception as exc:  # noqa: BLE001 - botocore and friends raise their own types (no credentials, ...)
        if isinstance(exc, ConfigError | InputNotFoundError):
            raise
        raise remote_error(pattern, exc) from exc
    if not files:
        raise InputNotFoundError(f"input not found: {pattern}")
    return sorted(fs.unstrip_protocol(f) for f in files)
