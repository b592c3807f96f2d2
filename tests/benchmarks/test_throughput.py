"""``benchmarks/throughput.py``: the one-table summary of the stage benchmarks reads each part's figures, divides
by the right reference and judges issue #20's goals."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))


def _ingest_part(ours_extra: float, dt_extra: float) -> dict:
    def row(name, net_records, wall_records, wall_docs_per_core, net_docs=0.0, wall_docs=0.0):
        return {"row": name, "net": {"records_per_s": net_records, "docs_per_s": net_docs},
                "wall": {"records_per_s": wall_records, "docs_per_s": wall_docs,
                         "docs_per_s_per_core": wall_docs_per_core}}  # fmt: skip

    return {
        "workers": 2,
        "rows": [row("ours-jsonl-nolangid", 0, 0, 3000.0), row("datatrove-jsonl", 0, 0, 4000.0),
                 row("ours-warc-trafilatura-nolangid", 132.0, 100.0, 0, 130.0, 98.0),
                 row("datatrove-warc-trafilatura", 120.0, 110.0, 0, 104.0, 96.0),
                 row("ours-warc-resiliparse-nolangid", 800.0, 500.0, 0, 790.0, 490.0),
                 row("datatrove-warc-resiliparse", 800.0, 600.0, 0, 700.0, 520.0)],
        "per_extra_document": [{"row": "ours-jsonl-nolangid", "docs_per_s_per_core": ours_extra},
                               {"row": "datatrove-jsonl", "docs_per_s_per_core": dt_extra}],
    }  # fmt: skip


def test_ingest_rows_compare_per_extra_document_and_records_read():
    import throughput

    jsonl, warc, warc_docs, resiliparse, resiliparse_docs = throughput.ingest_rows(
        _ingest_part(ours_extra=9000.0, dt_extra=10000.0)
    )
    assert jsonl["stage"] == "JSONL ingest" and jsonl["ratio_steady"] == pytest.approx(0.9)
    assert jsonl["ratio_cold"] == pytest.approx(0.75) and jsonl["met"] is False
    assert warc["stage"] == "WARC ingest (trafilatura)" and warc["unit"] == "records"
    assert warc["ours_steady"] == pytest.approx(66.0)  # per core: ÷ 2 workers
    assert warc["ratio_steady"] == pytest.approx(1.1) and warc["met"] is True
    assert warc["ratio_cold"] == pytest.approx(100 / 110)
    # documents written are shown beside records read, not judged: datatrove extracts fewer of the pages
    assert warc_docs["unit"] == "docs" and warc_docs["ratio_steady"] == pytest.approx(1.25) and warc_docs["met"] is None
    assert resiliparse["stage"] == "WARC ingest (resiliparse)" and "Resiliparse" in resiliparse["reference"]
    assert resiliparse["ratio_steady"] == pytest.approx(1.0) and resiliparse["met"] is False
    assert resiliparse_docs["ratio_cold"] == pytest.approx(490 / 520) and resiliparse_docs["met"] is None

    faster = throughput.ingest_rows(_ingest_part(ours_extra=12000.0, dt_extra=10000.0))[0]
    assert faster["met"] is True and faster["ratio_steady"] == pytest.approx(1.2)


def test_signals_row_needs_both_warm_and_cold_goals():
    import throughput

    def part(cold: float) -> dict:
        return {"documents": {"documents": 10_000}, "rows": [
            {"row": "ours-filters", "docs_per_s_per_core": {"warm": 20.0, "cold": cold}},
            {"row": "datatrove-verdicts", "docs_per_s_per_core": {"warm": 20.0, "cold": 20.0}}]}  # fmt: skip

    (met,) = throughput.signals_rows(part(cold=19.0))
    assert met["stage"].startswith("signals") and "10,000" in met["stage"] and met["met"] is True
    (missed,) = throughput.signals_rows(part(cold=18.9))
    assert missed["ratio_cold"] == pytest.approx(0.945) and missed["met"] is False
    assert throughput.signals_rows({"documents": {"documents": 1}, "rows": []}) == []
    with_c4_last = part(cold=19.0)
    with_c4_last["rows"].append(
        {"row": "datatrove-verdicts-c4-last", "docs_per_s_per_core": {"warm": 25.0, "cold": 24.0}}
    )
    judged, shown = throughput.signals_rows(with_c4_last)  # datatrove in our filter order: shown, not judged
    assert judged["met"] is True and shown["met"] is None and shown["goal"] == "–"
    assert "C4" in shown["reference"] and shown["ratio_steady"] == pytest.approx(0.8)


def test_scoring_rows_judge_the_floors_on_the_c4_sample_only():
    import throughput

    part = {"rows": [
        {"corpus": "c4", "rater": "fasttext", "warm_docs_per_s_per_core": 499.0, "cold_docs_per_s_per_core": 40.0,
         "datatrove_docs_per_s_per_core": 400.0},
        {"corpus": "c4", "rater": "dsir", "warm_docs_per_s_per_core": 1000.0, "cold_docs_per_s_per_core": 50.0},
        {"corpus": "c4", "rater": "perplexity", "warm_docs_per_s_per_core": 60.0, "cold_docs_per_s_per_core": 20.0},
        {"corpus": "web", "rater": "dsir", "warm_docs_per_s_per_core": 1.0, "cold_docs_per_s_per_core": 1.0},
    ]}  # fmt: skip
    fasttext, dsir, perplexity = throughput.scoring_rows(part)
    assert fasttext["met"] is False and fasttext["ratio_steady"] == pytest.approx(499 / 400)
    assert fasttext["ratio_cold"] is None  # datatrove has no cold figure here
    assert dsir["met"] is True and dsir["reference"] == "–" and dsir["ratio_steady"] is None
    assert perplexity["met"] is None and perplexity["goal"] == "–"


def test_render_has_one_summary_table_and_each_part_below_it():
    import throughput

    parts = {"ingest": _ingest_part(9000.0, 10000.0)}
    payload = {
        "date": "2026-12-06T00:00:00+00:00", "command": "python benchmarks/throughput.py", "workers": 2,
        "machine": {"cpu_model": "CPU", "nproc": 2, "memory_gib": 1.0, "os": "Linux", "python": "3.11",
                    "load_average": [0.0, 0.0, 0.0]},
        "versions": {"curation": "0"}, "total_s": 10.0, "part_seconds": {"ingest": 9.0},
        "summary": throughput.summary_rows(parts), "part_markdown": {"ingest": "# Ingest\n\n| a |\n|---|\n| 1 |"},
    }  # fmt: skip
    text = throughput.render(payload)
    assert text.count("| stage |") == 1 and "| JSONL ingest | docs |" in text and "0.90×" in text
    assert "## Part `ingest` (9 s)" in text and "\n## Ingest\n" in text  # the part's heading is demoted
