"""One real pipeline work directory and its report, shared by every report test of the session."""

from __future__ import annotations

import pytest

from tests.conftest import shared


@pytest.fixture(scope="session")
def pipeline_workdir(spark, tmp_path_factory):
    from tests.report.pipeline_fixture import build_pipeline_workdir

    workdir = tmp_path_factory.mktemp("report-pipeline") / "run"
    build_pipeline_workdir(workdir, shared("web/c4-en-sample-1000.jsonl.gz"), shared("reference/wikitext-2-valid.txt"))
    return workdir


@pytest.fixture(scope="session")
def built_report(pipeline_workdir):
    from curation.report import build_report

    return build_report(pipeline_workdir, log_to_mlflow=False)
