"""The Spark UI is off by default (a local job needs no web port) and on with one --conf."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import curate_env

PROBE = """
import urllib.request
from curation.spark import get_spark
conf = {"spark.ui.port": "0"} | ({"spark.ui.enabled": "true"} if UI else {})
sc = get_spark("local[1]", "ui-probe", conf).sparkContext
url = sc.uiWebUrl
print("URL", url)
if url:
    sc.parallelize(range(2), 2).count()
    with urllib.request.urlopen(url + "/jobs/", timeout=30) as page:
        print("STATUS", page.status, "jobs" in page.read().decode("utf-8", "replace").lower())
"""


def _probe(ui: bool) -> str:
    done = subprocess.run([sys.executable, "-c", f"UI = {ui}\n{PROBE}"], capture_output=True, text=True,
                          env=curate_env(), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_spark_ui_is_off_by_default_and_served_with_a_conf():
    assert "URL None" in _probe(False)
    on = _probe(True)
    assert "URL http" in on and "STATUS 200 True" in on, on
