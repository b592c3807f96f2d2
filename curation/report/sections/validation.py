"""Section 5: the evidence: held-out bits-per-byte curves of the proxies trained on each set at equal
tokens (``results.json`` of ``curate validate``), the final table, and the token savings against the baseline."""

from __future__ import annotations

from curation.report import formatting as fmt
from curation.report.charts import make_chart, short_label
from curation.report.document import Block, Heading, Paragraph, Section, Table
from curation.report.outputs import MissingOutput, guarded, read_json, stage_output
from curation.report.state import PipelineState, Stage


def validation_section(state: PipelineState) -> Section | None:
    stages = state.with_output("validation")
    if not stages:
        return None
    section = Section("validation", "Proxy validation")
    for stage in stages:
        if len(stages) > 1:
            section.add(Heading(stage.name))
        section.add(*guarded(stage, _validation))
    return section


def _validation(stage: Stage) -> list[Block]:
    root = stage_output(stage, "validation")
    results = read_json(root / "results.json", f"the validation in {root}")
    if results.get("format") not in (None, "curation.validation/v1"):
        raise MissingOutput(f"{root / 'results.json'}: unknown format {results.get('format')!r}")
    heldout = list(results.get("heldout") or {})
    baseline = results.get("baseline")
    model = results.get("model") or {}
    seeds = len(results.get("seeds") or [])
    if not heldout or not results.get("results"):
        raise MissingOutput(f"{root / 'results.json'} holds no results")
    blocks: list[Block] = [
        Paragraph(
            f"Proxy {model.get('size', '?')} ({fmt.count(model.get('parameters'))} parameters, tokenizer "
            f"{(results.get('tokenizer') or {}).get('name', '?')}), {fmt.count(results.get('tokens'))} training tokens "
            f"per run, {seeds} seed(s) per training set; held-out bits per byte, lower is better. Token savings: the "
            f"share of the baseline's ({baseline}) tokens a run saves to reach the baseline's final held-out loss."
        ),
        _chart(stage.name, results, heldout),
    ]
    columns = ["training set", "documents"]
    for h in heldout:
        columns += [f"{h}: bpb (mean ± std)", f"{h}: token savings"]
    rows = []
    for name, per_heldout in results["results"].items():
        row = [name, fmt.count((results.get("train_sets") or {}).get(name, {}).get("documents"))]
        for h in heldout:
            entry = per_heldout.get(h) or {}
            mean, std = entry.get("mean"), entry.get("std")
            row.append("–" if mean is None else f"{mean:.4f} ± {std or 0:.4f}")
            row.append(savings(entry))
        rows.append(row)
    blocks.append(Table(columns, rows, frozenset(range(1, len(columns)))))
    for name, per_heldout in results["results"].items():
        for h in heldout:
            entry = per_heldout.get(h) or {}
            if entry.get("is_baseline") or not entry:
                continue
            if entry.get("token_savings") is None:
                text = f"{name} does not reach {baseline}'s final loss on {h} within the budget."
            else:
                text = (
                    f"{name} reaches {baseline}'s final loss on {h} ({entry.get('baseline_final_bpb', 0):.4f} bpb) "
                    f"with {100 * entry.get('fraction_of_tokens', 0):.1f}% of its tokens: "
                    f"{savings(entry)} token savings."
                )
            blocks.append(Paragraph(text))
    return blocks


def savings(entry: dict) -> str:
    if entry.get("is_baseline"):
        return "baseline"
    value = entry.get("token_savings")
    return "not reached" if value is None else f"{100 * value:+.1f}%"


def _chart(name: str, results: dict, heldout: list[str]):
    curves = results.get("curves") or {}
    baseline = results.get("baseline")

    def draw(fig):
        import numpy as np

        axes = fig.subplots(1, len(heldout), squeeze=False)[0]
        for ax, h in zip(axes, heldout, strict=True):
            for set_name, runs in curves.items():
                runs = [curve for curve in runs.values() if curve]
                if not runs:
                    continue
                length = min(len(curve) for curve in runs)
                tokens = np.array([p["tokens"] for p in runs[0][:length]], dtype=float)
                values = np.array([[p["bpb"][h] for p in curve[:length]] for curve in runs], dtype=float)
                start = 1 if length > 2 else 0  # the untrained model's ~8 bits would flatten the plot
                style = "--" if set_name == baseline else "-"
                ax.plot(
                    tokens[start:],
                    values.mean(axis=0)[start:],
                    style,
                    marker="o",
                    ms=3,
                    label=short_label(set_name, 30),
                )
                if len(runs) > 1:
                    ax.fill_between(tokens[start:], values.min(axis=0)[start:], values.max(axis=0)[start:], alpha=0.2)
            ax.set_title(f"held-out: {short_label(h, 30)}")
            ax.set_xlabel("training tokens")
            ax.set_ylabel("bits per byte")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)

    return make_chart(
        f"validation-{name}", "Held-out bits per byte during training", draw, (5.2 * len(heldout) + 0.6, 3.6)
    )
