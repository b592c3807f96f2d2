"""Typed errors. The CLI turns each into one line and a non-zero exit code."""

from __future__ import annotations

import errno
import os


class CurationError(Exception):
    """Base class for errors a user can act on."""

    exit_code = 1


class ConfigError(CurationError):
    """A bad option or configuration value; raised before any work starts."""

    exit_code = 2


class InputNotFoundError(CurationError):
    """An input path or glob matched nothing; raised before any work starts."""

    exit_code = 2


class CorpusError(CurationError):
    """A corpus directory is missing, incomplete or inconsistent."""


class AccountingError(CurationError):
    """Record counts did not reconcile: something would have been lost."""


class TrackingError(CurationError):
    """The MLflow tracking store could not be reached or written."""


class OutputError(CurationError):
    """An output location could not be written: disk full, file too large, read-only, not a directory."""

    # errno values of an OSError raised while writing that say the output location is the problem
    ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR})

    @classmethod
    def writing(cls, path, exc: OSError) -> OutputError:
        """``cannot write PATH: REASON`` in the operating system's words (pyarrow's messages omit the path)."""
        return cls(f"cannot write {path}: {os.strerror(exc.errno) if exc.errno else exc}")


class InjectedFaultError(CurationError):
    """A failure injected on purpose (``CURATION_INJECT_TASK_FAILURE``) to test retries; never raised otherwise."""
