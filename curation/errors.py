"""Typed errors. The CLI turns each into one line and a non-zero exit code."""


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
