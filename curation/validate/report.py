"""What a validation writes for people: a Markdown table and a PNG of the held-out curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curation.corpus import commit, temporary_path


def _fmt_savings(entry: dict[str, Any]) -> str:
    if entry.get("is_baseline"):
        return "baseline"
    savings = entry["token_savings"]
    return "not reached" if savings is None else f"{100 * savings:+.1f}%"


def comparison_table(results: dict[str, Any]) -> str:
    heldout = list(results["heldout"])
    seeds = len(results["seeds"])
    lines = [
        f"Proxy `{results['model']['size']}` ({results['model']['parameters']:,} parameters, "
        f"tokenizer {results['tokenizer']['name']}), {results['tokens']:,} training tokens per run, "
        f"{seeds} seed{'s' if seeds != 1 else ''}; held-out bits per byte (lower is better), "
        f"mean ± std over seeds; token savings vs `{results['baseline']}`: share of its tokens a run saves "
        "to reach its final held-out loss.",
        "",
        "| training set | documents | " + " | ".join(f"{h}: bpb | {h}: savings" for h in heldout) + " |",
        "| --- | ---: | " + " | ".join("---: | ---:" for _ in heldout) + " |",
    ]
    for name, per_heldout in results["results"].items():
        cells = []
        for h in heldout:
            entry = per_heldout[h]
            cells.append(f"{entry['mean']:.4f} ± {entry['std']:.4f}")
            cells.append(_fmt_savings(entry))
        documents = results["train_sets"][name]["documents"]
        lines.append(f"| {name} | {documents:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    tmp = temporary_path(path)
    tmp.write_text(text, encoding="utf-8")
    commit(tmp, path)


def plot_curves(results: dict[str, Any], path: Path) -> None:
    """One panel per held-out set: mean bpb over seeds against tokens, the seeds' range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    heldout = list(results["heldout"])
    fig, axes = plt.subplots(1, len(heldout), figsize=(6 * len(heldout), 4.2), squeeze=False)
    for ax, h in zip(axes[0], heldout, strict=True):
        for name, runs in results["curves"].items():
            tokens = np.array([p["tokens"] for p in next(iter(runs.values()))], dtype=float)
            values = np.array([[p["bpb"][h] for p in curve] for curve in runs.values()])
            start = 1 if len(tokens) > 2 else 0  # the untrained model's ~8 bits would flatten the plot
            style = "--" if name == results["baseline"] else "-"
            ax.plot(tokens[start:], values.mean(axis=0)[start:], style, label=name)
            ax.fill_between(tokens[start:], values.min(axis=0)[start:], values.max(axis=0)[start:], alpha=0.2)
        ax.set_title(f"held-out: {h}")
        ax.set_xlabel("training tokens")
        ax.set_ylabel("bits per byte")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tmp = temporary_path(path)
    fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    commit(tmp, path)
