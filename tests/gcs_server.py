"""A GCS JSON-API server on 127.0.0.1 (gcp-storage-emulator, pure Python, from PyPI), started once per session,
in memory; tests/storage/test_other_stores.py imports its fixtures."""

from __future__ import annotations

import pytest

from tests.s3_server import free_port


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory):
    """Environment a child process needs for gcsfs to use the server: ``STORAGE_EMULATOR_HOST`` is gcsfs's own
    switch to an emulator (it then sends no credentials when none are found). The rest keeps a developer's
    Google credentials and the metadata server out of it, and turns off gcsfs's experimental bucket-type lookup
    (a gRPC call to the storage-control API, which no emulator serves: each call would log a warning and fall
    back to the JSON API anyway)."""
    emulator = pytest.importorskip("gcp_storage_emulator.server", reason="gcp-storage-emulator is a dev dependency")
    pytest.importorskip("gcsfs", reason="gcsfs is the gcs extra")
    port = free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    env = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "GOOGLE_APPLICATION_CREDENTIALS": "",  # empty: google.auth skips it
        "CLOUDSDK_CONFIG": str(tmp_path_factory.mktemp("no-gcloud-config")),  # no gcloud application-default login
        "NO_GCE_CHECK": "true",  # not on Google Compute Engine: do not ask the metadata server
    }
    yield env
    server.stop()


@pytest.fixture(scope="session")
def gcs_fs(gcs_server):
    """A gcsfs filesystem on the server, for tests to put and read objects directly (no listing cache)."""
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem(endpoint_url=gcs_server["STORAGE_EMULATOR_HOST"], token="anon", use_listings_cache=False)
