"""Local scratch directories of a process (staging before an upload, a downloaded model) that do not outlive it.

A process removes its own directories when it is done with them, but a SIGKILLed task, executor or driver
cannot. So each directory's name carries the host and the process id that made it
(``curation-staging-<host>-<pid>-<random>``), and whenever a process makes one it first removes the
directories of that kind whose process, on this host, no longer runs: the temporaries of killed tasks are
cleaned by the next task on the same machine. A directory of a live process is never touched (a reused pid
only delays the cleaning), nor one made on another host that shares the temporary directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def remove_orphans(prefix: str, parent: str | None = None) -> list[Path]:
    """Remove the ``prefix`` directories in ``parent`` (the temporary directory) that a process of this host
    made and that process no longer runs; return them."""
    root = Path(parent or tempfile.gettempdir())
    mine = f"{prefix}{_host()}-"
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(mine):
            continue
        pid_text = entry.name[len(mine) :].partition("-")[0]
        if not pid_text.isdigit() or _running(int(pid_text)) or not entry.is_dir() or entry.is_symlink():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def make_scratch_dir(prefix: str, parent: str | None = None) -> Path:
    """A new directory ``<prefix><host>-<pid>-<random>`` in ``parent`` (the temporary directory), after removing
    the orphans of ``prefix`` there; the caller removes it when done."""
    remove_orphans(prefix, parent)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{_host()}-{os.getpid()}-", dir=parent))
