"""`build_report` on a real pipeline work directory: every section, the numbers behind it, escaping of
untrusted text, notes for missing stages, deterministic atomic output, and the MLflow artifacts."""

from __future__ import annotations

import json
import re
import shutil
from html import escape

import pytest

from curation.errors import ConfigError, InputNotFoundError
from curation.report import build_report
from curation.report.document import Heading, Note, Paragraph, Report, Sample, Samples, Section, Table
from curation.report.html import render_html
from curation.report.markdown import render_markdown
from curation.report.state import load_state, resolve_run
from tests.report.pipeline_fixture import HOSTILE_TEXT

SECTION_IDS = ["summary", "funnel", "scores", "examples", "validation", "raters", "export"]
PNG = b"\x89PNG\r\n\x1a\n"


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _outside_code_fences(markdown: str) -> str:
    return re.sub(r"(?ms)^(`{3,})text\n.*?^\1$", "", markdown)


def test_every_section_is_rendered_with_the_pipelines_numbers(pipeline_workdir, built_report):
    html = built_report.html_path.read_text(encoding="utf-8")
    markdown = built_report.md_path.read_text(encoding="utf-8")
    assert built_report.html_path == pipeline_workdir / "report" / "report.html"
    for anchor in SECTION_IDS:
        assert f'<section id="{anchor}">' in html
    assert 'class="note"' not in html, re.findall(r'class="note"[^>]*>([^<]*)', html)  # nothing missing here
    assert markdown.count("\n## ") == len(SECTION_IDS)

    # Summary: every stage with its status.
    state = _json(pipeline_workdir / "pipeline.json")
    for stage in state["stages"]:
        assert f"<td>{stage['name']}</td>" in html

    # Funnel: records read, documents, then each clause of the selection, as the manifests count them.
    ingest, curated = (
        _json(pipeline_workdir / "corpus/manifest.json"),
        _json(pipeline_workdir / "curated/manifest.json"),
    )
    rows = re.findall(r"^\| (ingest|select): ([^|]+) \| ([\d,]+) \|", markdown, re.M)
    expected = [("ingest", "records read", ingest["counts"]["records_read"])]
    expected.append(("ingest", "documents", ingest["counts"]["documents"]))
    expected += [("select", step["clause"], step["documents"]) for step in curated["funnel"][1:]]
    assert [(s, label.strip().replace("\\_", "_"), int(n.replace(",", ""))) for s, label, n in rows] == expected
    assert ingest["counts"]["rejected"] == {"empty_text": 1, "malformed_json": 1}
    assert curated["funnel"][-1]["documents"] < ingest["counts"]["documents"]  # the rule really drops documents
    assert curated["funnel"][1]["documents"] == ingest["counts"]["documents"] - 1  # lang == 'en': the German one

    # Score histograms: every numeric signal, all documents defined; pass rates from the attribute summary.
    signals = _json(pipeline_workdir / "attributes/signals/manifest.json")
    numeric = [c["name"] for c in signals["columns"] if c["type"] == "double"]
    assert len(numeric) == 11
    for column in numeric:
        assert f"| {column.replace('_', chr(92) + '_')} |" in markdown
    quality = signals["summary"]["gopher_quality_pass"]
    assert f"{100 * quality['true'] / quality['rows']:.1f}%" in html

    # Validation: the token savings of results.json, and its chart.
    results = _json(pipeline_workdir / "validation/results.json")
    entry = results["results"]["curated"]["wiki"]
    expected_savings = "not reached" if entry["token_savings"] is None else f"{100 * entry['token_savings']:+.1f}%"
    assert expected_savings in html and "baseline" in html

    # Raters: the Meta-rater weights and the DataRater's steps.
    fit = _json(pipeline_workdir / "models/metarater/weights.json")
    for column, weight in fit["weights"].items():
        assert f'<td>{column}</td><td class="num">{weight:.4f}</td>' in html
    assert "outer loss" in html

    # Export: every file with its checksum, found on disk.
    export = _json(pipeline_workdir / "export/manifest.json")
    for entry in export["files"]:
        assert entry["sha256"] in html
    assert "every file is on disk with the listed size" in html

    # Charts: inline SVG in the page, PNG files beside report.md.
    for name in ("funnel", "scores-signals", "validation-validate", "metarater-metarater_fit"):
        assert f'data-chart="{name}"' in html
        assert f"](chart-{name}.png)" in markdown
        assert (pipeline_workdir / "report" / f"chart-{name}.png").read_bytes()[:8] == PNG
    assert {p.name for p in built_report.chart_paths} == {
        p.name for p in (pipeline_workdir / "report").glob("chart-*.png")
    }


def test_the_page_is_self_contained(built_report):
    html = built_report.html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    # No URL the browser could fetch: no src/href other than in-page anchors and the empty data: icon.
    assert re.findall(r'(?:src|href)="([^"#][^"]*)"', html) == ["data:,"]
    assert "http://" not in _without_documents(html) and "https://" not in _without_documents(html)
    assert "<?xml" not in html and "<metadata>" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids repeat across charts"


def _without_documents(html: str) -> str:
    """The page minus the text that came from documents (their URLs are text, shown escaped)."""
    return re.sub(r'<(pre|div) class="sample[^"]*">.*?</\1>', "", html, flags=re.S)


def test_document_text_is_escaped_everywhere(built_report):
    html = built_report.html_path.read_text(encoding="utf-8")
    markdown = built_report.md_path.read_text(encoding="utf-8")
    # Both hostile records are the only ones of their reason (malformed JSON at ingest, not English at
    # select), so both are shown: as text.
    assert "&lt;script&gt;window.__pwned = 3&lt;/script&gt;" in html
    assert escape(HOSTILE_TEXT) in html
    assert "<script" not in html and "<img" not in html
    assert "window.__pwned = 3" in markdown and HOSTILE_TEXT in markdown
    assert "<script" not in _outside_code_fences(markdown)


def test_renderers_escape_hostile_strings_in_every_block():
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> [link](javascript:alert(3)) | ``` *x*'
    section = Section("s", hostile)
    section.add(
        Paragraph(hostile),
        Note(hostile),
        Heading(hostile),
        Table([hostile, "n"], [[hostile, "1"]], frozenset({1})),
        Samples(hostile, [Sample(hostile, hostile + "\n" + "````" + " end")]),
    )
    report = Report(hostile, [section])
    html = render_html(report)
    assert "<script" not in html and "<img" not in html
    assert (
        html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 12
    )  # title, h1, nav, h2, p, note, h3, th, td, h4, label, sample
    markdown = render_markdown(report)
    prose = _outside_code_fences(markdown)
    assert "<script" not in prose and "<img" not in prose
    assert "](javascript" not in prose and "\\[link\\]\\(javascript:alert\\(3\\)\\)" in prose
    assert "\n`````text\n" in markdown  # a fence longer than the sample's own backticks
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table_rows) == 3
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 3 for line in table_rows)  # a cell's own | is escaped


def test_chart_labels_are_text_not_markup():
    from curation.report.charts import make_chart

    label = "</svg><script>alert(1)</script> $x$"
    chart = make_chart("odd name/1", label, lambda fig: fig.subplots().bar([label], [1]), (3, 2))
    assert chart.name == "odd-name-1"
    assert "<script" not in chart.svg and "&lt;/svg&gt;&lt;script&gt;" in chart.svg
    assert "$x$" in chart.svg  # mathtext off: a dollar sign stays a dollar sign
    assert chart.png[:8] == PNG


def test_missing_and_failed_stages_become_notes(pipeline_workdir, tmp_path):
    workdir = tmp_path / "partial"
    (workdir / "validation").mkdir(parents=True)  # started, no results.json yet
    (workdir / "models/metarater/runs").mkdir(parents=True)  # proxy runs, no weights.json
    mixed = workdir / "mixed"
    mixed.mkdir()
    mix_manifest = {
        "format": "curation.corpus/v1",
        "kind": "mix",
        "counts": {"records_read": 92, "documents": 40, "bytes_out": 90_000},
        "mixture": {"budget_tokens": 100_000, "components": {"curated": 1.0}},
        "shards": [],
    }
    (mixed / "manifest.json").write_text(json.dumps(mix_manifest))
    (workdir / "export").mkdir()  # an export manifest from another version: keys missing, a file gone
    (workdir / "export/manifest.json").write_text(json.dumps({"files": [{"path": "jsonl/part-00000.jsonl"}]}))
    stages = [
        {
            "name": "ingest",
            "kind": "ingest",
            "status": "done",
            "seconds": 1.0,
            "outputs": {"corpus": str(pipeline_workdir / "corpus")},
        },
        {
            "name": "signals",
            "kind": "signals",
            "status": "done",
            "outputs": {"attributes": str(workdir / "attributes/gone")},
        },
        {
            "name": "select",
            "kind": "select",
            "status": "done",
            "outputs": {"corpus": str(pipeline_workdir / "curated")},
        },
        {"name": "mix", "kind": "mix", "status": "done", "outputs": {"corpus": str(mixed)}},
        {
            "name": "metarater_fit",
            "kind": "metarater_fit",
            "status": "failed",
            "outputs": {"model": str(workdir / "models/metarater")},
        },
        {
            "name": "datarater_train",
            "kind": "datarater_train",
            "status": "done",
            "outputs": {"model": str(workdir / "models/none")},
        },
        {
            "name": "validate",
            "kind": "validate",
            "status": "done",
            "outputs": {"validation": str(workdir / "validation")},
        },
        {"name": "export", "kind": "export", "status": "done", "outputs": {"export": str(workdir / "export")}},
    ]
    state = {"format": "curation.pipeline/v1", "name": "partial", "finished": False, "stages": stages}
    (workdir / "pipeline.json").write_text(json.dumps(state))

    result = build_report(workdir / "pipeline.json", log_to_mlflow=False)
    html = result.html_path.read_text(encoding="utf-8")
    notes = re.findall(r'<p class="note" role="note">([^<]*)</p>', html)
    joined = "\n".join(notes)
    assert "attributes/gone does not exist" in joined
    assert "stage &#x27;metarater_fit&#x27; failed" in joined
    assert "models/none does not exist" in joined
    assert "results.json is missing" in joined
    assert "format None, expected &#x27;curation.export/v1&#x27;" in joined
    assert "1 exported file(s) are missing" in joined
    assert "not finished" in html
    # The mix output continues the funnel after the selection, with its mixture; the kept examples come from
    # the last corpus stage, the mix (which has no shards here: the report says so).
    markdown = result.md_path.read_text(encoding="utf-8")
    assert re.search(r"^\| mix \| 40 \|", markdown, re.M)
    assert "budget\\_tokens" in markdown
    assert "The final corpus" in html and "holds no documents" in html
    for anchor in SECTION_IDS:
        assert f'<section id="{anchor}">' in html


def test_a_pipeline_with_no_stages_has_only_its_summary(tmp_path):
    (tmp_path / "pipeline.json").write_text(json.dumps({"format": "curation.pipeline/v1", "name": "new", "stages": []}))
    html = build_report(tmp_path, log_to_mlflow=False).html_path.read_text(encoding="utf-8")
    assert re.findall(r'<section id="([^"]+)"', html) == ["summary"]
    assert "lists no stages yet" in html


def test_bad_state_fails_with_one_line(tmp_path):
    with pytest.raises(InputNotFoundError, match="no pipeline.json"):
        load_state(tmp_path)
    with pytest.raises(InputNotFoundError, match="no such pipeline work directory"):
        load_state(tmp_path / "nope")
    (tmp_path / "pipeline.json").write_text('{"format": "curation.corpus/v1"}')
    with pytest.raises(ConfigError, match="not a pipeline state file"):
        load_state(tmp_path)
    (tmp_path / "pipeline.json").write_text("{")
    with pytest.raises(ConfigError, match="unreadable pipeline state"):
        load_state(tmp_path)


def test_report_is_logged_to_the_parent_run_which_also_finds_the_workdir(pipeline_workdir, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    workdir = tmp_path / "tracked"
    workdir.mkdir()
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("curation"), tags={"curation.workdir": str(workdir)})
    client.set_terminated(run.info.run_id, "FINISHED")  # `curate run` has ended its parent run by then
    state = _json(pipeline_workdir / "pipeline.json")
    state.update(workdir=str(workdir), mlflow_run_id=run.info.run_id, tracking_uri=uri)
    (workdir / "pipeline.json").write_text(json.dumps(state))

    assert resolve_run(run.info.run_id) == workdir
    result = build_report(resolve_run(run.info.run_id))
    assert result.mlflow_run_id == run.info.run_id
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert {"report/report.html", "report/report.md", "report/chart-funnel.png"} <= logged
    local = client.download_artifacts(run.info.run_id, "report/report.html", str(tmp_path))
    assert open(local, "rb").read() == result.html_path.read_bytes()

    shutil.rmtree(workdir / "report")
    result = build_report(workdir, log_to_mlflow=False)
    assert result.mlflow_run_id is None and result.html_path.is_file()
