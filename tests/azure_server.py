"""An Azure Blob Storage server on 127.0.0.1 (Azurite, Microsoft's emulator, from the npm registry), started once
per session; tests/storage/test_other_stores.py imports its fixtures.

Azurite is found as ``$AZURITE_BLOB`` (a path to its ``azurite-blob`` script), on ``PATH``, or installed into the
virtual environment by ``npm install --prefix .venv/azurite azurite``; the tests skip, saying so, without it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.s3_server import free_port

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key (public, in Azure's docs)
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_blob() -> str | None:
    """The ``azurite-blob`` script to run, or None."""
    candidates = [os.environ.get("AZURITE_BLOB"), shutil.which("azurite-blob"),
                  str(REPO / ".venv" / "azurite" / "node_modules" / ".bin" / "azurite-blob")]  # fmt: skip
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"azurite-blob exited ({proc.returncode}): {proc.stdout.read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"azurite-blob did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory):
    """Environment a child process needs for adlfs (``abfs://``, ``az://``) to use the server: its connection
    string, which adlfs reads from ``AZURE_STORAGE_CONNECTION_STRING`` before any other credential."""
    pytest.importorskip("adlfs", reason="adlfs is the azure extra")
    script = azurite_blob()
    if script is None:
        missing = "Azurite is not installed (npm install --prefix .venv/azurite azurite)"
        if os.environ.get("CI"):  # .ci/run installs it: a CI without it tests less than it says
            pytest.fail(missing)
        pytest.skip(missing)
    port = free_port()
    workspace = tmp_path_factory.mktemp("azurite")
    # --skipApiVersionCheck: azure-storage-blob may speak an API version newer than this Azurite knows
    proc = subprocess.Popen([script, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(workspace),
                             "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        wait_listening(proc, port)
        yield {
            "AZURE_STORAGE_CONNECTION_STRING": f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def azure_fs(azure_server):
    """An adlfs filesystem on the server, for tests to put and read objects directly."""
    from adlfs import AzureBlobFileSystem

    return AzureBlobFileSystem(connection_string=azure_server["AZURE_STORAGE_CONNECTION_STRING"])
