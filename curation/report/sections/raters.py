"""Section 6: the learned raters: Meta-rater's final weights (``weights.json`` of a ``metarater_fit`` model
directory) and a DataRater model's summary (``rater.json``, and the outer-loss curve of its last checkpoint)."""

from __future__ import annotations

import json

from curation.report import formatting as fmt
from curation.report.charts import make_chart, short_label
from curation.report.document import Block, Heading, Note, Paragraph, Section, Table
from curation.report.outputs import MissingOutput, guarded, read_json, stage_output
from curation.report.state import PipelineState, Stage

METARATER_KINDS = ("metarater_fit",)
DATARATER_KINDS = ("datarater_train",)


def raters_section(state: PipelineState) -> Section | None:
    stages = state.of_kind(*METARATER_KINDS, *DATARATER_KINDS)
    if not stages:
        return None
    section = Section("raters", "Raters")
    for stage in stages:
        if stage.kind in METARATER_KINDS:
            section.add(Heading(f"Meta-rater weights ({stage.name})"), *guarded(stage, _metarater))
        else:
            section.add(Heading(f"DataRater ({stage.name})"), *guarded(stage, _datarater))
    return section


def _metarater(stage: Stage) -> list[Block]:
    root = stage_output(stage, "model")
    fit = read_json(root / "weights.json", f"the Meta-rater fit in {root}")
    weights = fit.get("weights") or {}
    if not weights:
        raise MissingOutput(f"{root / 'weights.json'} holds no weights")
    runs = fit.get("runs") or {}
    losses = runs.get("losses") or []
    regression = fit.get("regression") or {}
    spearman = regression.get("valid_spearman")
    proxy = (fit.get("config") or {}).get("proxy") or {}
    blocks: list[Block] = [
        Paragraph(
            f"{fmt.count(runs.get('count'))} proxy runs ({proxy.get('size', '?')} proxies, "
            f"{fmt.count(proxy.get('tokens'))} tokens each, top {100 * proxy.get('top_fraction', 0):g}% of documents "
            f"by the weighted score); held-out loss best {fmt.number(min(losses) if losses else None)}, worst "
            f"{fmt.number(max(losses) if losses else None)} bits per byte. Regression (LightGBM, weights → loss): "
            f"Spearman {'undefined' if spearman is None else f'{spearman:.3f}'} on {fmt.count(regression.get('valid_runs'))} "
            f"held-out runs. The weights below average the {fmt.count((fit.get('search') or {}).get('top_candidates'))} "
            "candidates with the lowest predicted loss."
        ),
        _weights_chart(stage.name, weights),
    ]
    scaling = fit.get("scaling") or {}
    rows = []
    for column, weight in sorted(weights.items(), key=lambda kv: -kv[1]):
        bounds = scaling.get(column) or {}
        scaled = f"[{fmt.number(bounds.get('min'))}, {fmt.number(bounds.get('max'))}]" if bounds else "–"
        rows.append([column, f"{weight:.4f}", scaled, "yes" if bounds.get("lower_is_better") else "no"])
    blocks.append(Table(["score", "weight", "scaled to [0, 5] from", "lower is better"], rows, frozenset({1})))
    return blocks


def _weights_chart(name: str, weights: dict[str, float]):
    ordered = sorted(weights.items(), key=lambda kv: kv[1])

    def draw(fig):
        ax = fig.subplots()
        ax.barh([short_label(k, 40) for k, _ in ordered], [v for _, v in ordered], color="#2ca02c")
        ax.set_xlabel("weight (sums to 1)")
        ax.grid(axis="x", alpha=0.3)

    return make_chart(f"metarater-{name}", "Meta-rater weights", draw, (7, 0.3 * len(ordered) + 1.1))


def _datarater(stage: Stage) -> list[Block]:
    root = stage_output(stage, "model")
    rater = read_json(root / "rater.json", f"the DataRater model in {root}")
    if rater.get("format") != "curation.datarater/v1":
        raise MissingOutput(f"{root / 'rater.json'}: not a DataRater model (format={rater.get('format')!r})")
    settings = rater.get("datarater") or {}
    model = rater.get("model") or {}
    facts = [
        ["outer steps", fmt.count(rater.get("outer_steps"))],
        [
            "rater",
            f"{model.get('n_layers', '?')} layers, d_model {model.get('d_model', '?')}, "
            f"{model.get('n_heads', '?')} heads, {model.get('seq_len', '?')} tokens",
        ],
        [
            "inner models",
            f"population {settings.get('population', '?')} of {settings.get('inner', '?')} proxies, "
            f"unroll K={settings.get('unroll', '?')}, inner batch {settings.get('inner_batch', '?')}",
        ],
        [
            "temperature",
            "none (softmax over the batch)" if settings.get("temperature") is None else str(settings["temperature"]),
        ],
        [
            "tokenizer",
            str((rater.get("tokenizer") or {}).get("kind") or (rater.get("tokenizer") or {}).get("name") or "?"),
        ],
        ["trained on", str(rater.get("train") or "?")],
        ["MLflow run", str(rater.get("mlflow_run_id") or "–")],
    ]
    blocks: list[Block] = [Table(["", "value"], facts)]
    deviations = rater.get("deviations") or {}
    if deviations:
        blocks.append(Paragraph(f"Deviations from the paper recorded with the model: {', '.join(deviations)}."))
    curve = _checkpoint_curve(root)
    if curve:
        blocks.append(_curve_chart(stage.name, curve))
    else:
        blocks.append(Note(f"{root / 'checkpoint'} holds no training curve."))
    return blocks


def _checkpoint_curve(root) -> list[dict]:
    """The outer-loss curve saved with the last meta-training checkpoint, if it is there."""
    pointer = root / "checkpoint" / "latest.json"
    try:
        step_dir = root / "checkpoint" / json.loads(pointer.read_text(encoding="utf-8"))["checkpoint"]
        state = json.loads((step_dir / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [p for p in state.get("curve") or [] if isinstance(p, dict) and "outer_loss" in p and "step" in p]


def _curve_chart(name: str, curve: list[dict]):
    def draw(fig):
        ax = fig.subplots()
        ax.plot([p["step"] for p in curve], [p["outer_loss"] for p in curve], marker="o", ms=3)
        ax.set_xlabel("outer step")
        ax.set_ylabel("outer loss (held-out)")
        ax.grid(alpha=0.3)

    return make_chart(f"datarater-{name}", "DataRater meta-training: outer loss", draw, (6, 3))
