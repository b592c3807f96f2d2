"""Section 1: what ran: the pipeline, its stages with status and time, and the MLflow runs."""

from __future__ import annotations

from curation.report import formatting as fmt
from curation.report.document import Note, Paragraph, Section, Table
from curation.report.state import PipelineState

# Section titles of the report and the outputs they are drawn from, to say which ones this pipeline lacks.
COVERED = {
    "corpus": "funnel and examples",
    "attributes": "score distributions",
    "validation": "proxy validation",
    "export": "export",
}


def summary_section(state: PipelineState) -> Section:
    payload = state.payload
    section = Section("summary", "Summary")
    total = sum(stage.seconds or 0.0 for stage in state.stages)
    done = sum(stage.status in ("done", "skipped") for stage in state.stages)
    section.add(
        Paragraph(
            f"Pipeline {state.name}: {len(state.stages)} stages, {done} complete, "
            f"{fmt.seconds(total)} s of stage time in total; "
            + ("finished." if payload.get("finished") else "not finished (still running, or a stage failed).")
        )
    )
    facts = [
        ["pipeline", state.name],
        ["config", str(payload.get("config_path") or "–")],
        ["config hash", str(payload.get("config_hash") or "–")],
        ["workdir", str(payload.get("workdir") or state.workdir)],
        ["finished", "yes" if payload.get("finished") else "no"],
        ["MLflow parent run", state.mlflow_run_id or "– (tracking off)"],
        ["MLflow tracking URI", state.tracking_uri or "–"],
    ]
    section.add(Table(["", "value"], facts))
    rows = []
    for index, stage in enumerate(state.stages, 1):
        outputs = ", ".join(f"{key}: {fmt.relative(path, state.workdir)}" for key, path in stage.outputs.items())
        rows.append(
            [
                str(index),
                stage.name,
                stage.kind,
                stage.status,
                fmt.seconds(stage.seconds),
                stage.mlflow_run_id or "–",
                outputs or "–",
            ]
        )
    if rows:
        section.add(
            Table(["#", "stage", "kind", "status", "seconds", "MLflow run", "outputs"], rows, frozenset({0, 4}))
        )
    else:
        section.add(Note("The pipeline state lists no stages yet."))
    for stage in state.stages:
        if stage.failed:
            section.add(Note(f"Stage {stage.name!r} failed; the sections below show what it left, if anything."))
    absent = [title for key, title in COVERED.items() if not state.with_output(key)]
    if not any(stage.kind in ("metarater_fit", "datarater_train") for stage in state.stages):
        absent.append("raters")
    if absent:
        section.add(Note(f"Not in this pipeline, so not reported: {', '.join(absent)}."))
    return section
