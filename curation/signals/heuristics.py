"""datatrove's heuristic quality filters, used as a library: pass/fail and datatrove's own reason.

Each filter runs with datatrove's default thresholds, or the settings given for it (``thresholds``: the
keyword arguments of its datatrove class, such as ``{"gopher_quality": {"min_doc_words": 30}}``), on a fresh
``Document`` per filter, so filters
that edit text (C4's line filtering does) never leak edits into the next filter or the corpus: this
stage records verdicts, it never rewrites text. ``C4BadWordsFilter`` is not included: it downloads
its word lists at run time, which the offline product cannot do.
"""

from __future__ import annotations

from typing import Any

from curation.attribute_stage import AttributeProducer

# (column prefix, datatrove class, what it checks)
FILTERS = (
    (
        "gopher_quality",
        "GopherQualityFilter",
        "Gopher quality rules (word counts and lengths, symbols, bullets, stop words)",
    ),
    (
        "gopher_repetition",
        "GopherRepetitionFilter",
        "Gopher repetition rules (duplicate lines, paragraphs and n-grams)",
    ),
    (
        "c4_quality",
        "C4QualityFilter",
        "C4 rules (terminal punctuation, javascript, policy lines, lorem ipsum, curly braces)",
    ),
    (
        "fineweb_quality",
        "FineWebQualityFilter",
        "FineWeb rules (line punctuation ratio, short lines, duplicated line chars, newlines)",
    ),
)


NOT_THRESHOLDS = ("self", "exclusion_writer")  # datatrove arguments that are not a filter's settings


def checked_thresholds(thresholds: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``thresholds`` (filter column prefix -> keyword arguments of its datatrove class), checked against the
    classes' own signatures; an unknown filter or setting is a ``ConfigError`` naming it and the choices."""
    import inspect

    import datatrove.pipeline.filters as filters

    from curation.errors import ConfigError

    classes = {prefix: cls for prefix, cls, _ in FILTERS}
    checked: dict[str, dict[str, Any]] = {}
    for prefix, settings in (thresholds or {}).items():
        if prefix not in classes:
            raise ConfigError(f"signals thresholds: no filter {prefix!r} (the filters: {', '.join(classes)})")
        if not isinstance(settings, dict):
            raise ConfigError(f"signals thresholds: {prefix} takes a mapping of settings, not {settings!r}")
        known = [
            p
            for p in inspect.signature(getattr(filters, classes[prefix]).__init__).parameters
            if p not in NOT_THRESHOLDS
        ]
        for key in settings:
            if key not in known:
                raise ConfigError(
                    f"signals thresholds: {classes[prefix]} has no setting {key!r} (its settings: {', '.join(known)})"
                )
        if settings:
            checked[prefix] = dict(sorted(settings.items()))
    return checked


def parse_threshold_options(pairs: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--threshold FILTER.SETTING=VALUE`` options as ``thresholds`` (VALUE read as a YAML scalar or list:
    ``30``, ``0.2``, ``false``, ``[a, b]``)."""
    import yaml

    from curation.errors import ConfigError

    thresholds: dict[str, dict[str, Any]] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        prefix, dot, setting = key.strip().partition(".")
        if not sep or not dot or not prefix or not setting:
            raise ConfigError(
                f"--threshold expects FILTER.SETTING=VALUE (gopher_quality.min_doc_words=30), got {pair!r}"
            )
        try:
            thresholds.setdefault(prefix, {})[setting] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(
                f"--threshold {pair!r}: the value is not a number, a boolean, a string or a list"
            ) from None
    return thresholds


def in_run_order(filters: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``(column prefix, filter)`` pairs in the order to run them on a document: C4's filter last.

    Datatrove keeps the results of its last 5 split calls (an lru_cache over all texts), and C4's filter splits
    every line of the document into sentences, which pushes the document's word split out of it. Run last, it
    leaves that split for Gopher's two filters and FineWeb's to share: one whole-document word split instead of
    two, about a fifth less time on C4 documents. Verdicts do not depend on the order: every filter gets a
    fresh Document and only reads the cached split."""
    return sorted(filters, key=lambda item: item[0] == "c4_quality")


class HeuristicFilters:
    """The four datatrove filters, built once per process with their ``thresholds``; `verdicts(texts)` →
    column values."""

    def __init__(self, thresholds: dict[str, dict[str, Any]] | None = None):
        import datatrove.pipeline.filters as filters

        thresholds = thresholds or {}
        self.filters = [(prefix, getattr(filters, cls)(**thresholds.get(prefix, {}))) for prefix, cls, _ in FILTERS]
        self.run_order = in_run_order(self.filters)

    def verdicts(self, texts: list[str], ids: list[str]) -> dict[str, list[Any]]:
        from datatrove.data import Document

        columns: dict[str, list[Any]] = {}
        for prefix, _ in self.filters:
            columns[f"{prefix}_pass"], columns[f"{prefix}_reason"] = [], []
        # Document by document, all filters in turn: datatrove caches a text's word split for the last few
        # texts it saw, so the filters after the first reuse it (filter by filter over a batch would miss).
        # Columns keep FILTERS' order whatever the run order.
        for text, doc_id in zip(texts, ids, strict=True):
            for prefix, step in self.run_order:
                verdict = step.filter(Document(text=text, id=doc_id))
                ok, reason = (verdict, None) if isinstance(verdict, bool) else (bool(verdict[0]), verdict[1])
                columns[f"{prefix}_pass"].append(ok)
                columns[f"{prefix}_reason"].append(None if ok else (reason or f"{prefix}_failed"))
        return columns


class HeuristicSignals(AttributeProducer):
    """datatrove heuristic verdicts plus the numeric RedPajama-v2 signals, per document."""

    name = "signals"
    version = "v1"
    input_columns = ("text",)

    def __init__(self, numeric: bool = True, thresholds: dict[str, dict[str, Any]] | None = None):
        self.numeric = numeric  # False: only the datatrove verdicts (benchmarks compare those alone)
        self.thresholds = checked_thresholds(thresholds)  # a bad setting fails here, on the driver
        self._filters: HeuristicFilters | None = None

    def __getstate__(self):
        return {"numeric": self.numeric, "thresholds": self.thresholds}  # filters are rebuilt in each worker

    def __setstate__(self, state):
        self.numeric = state.get("numeric", True)
        self.thresholds = state.get("thresholds", {})
        self._filters = None

    def output_schema(self):
        import pyarrow as pa

        from curation.signals.numeric import NUMERIC_SIGNALS

        fields = []
        for prefix, _, _ in FILTERS:
            fields += [pa.field(f"{prefix}_pass", pa.bool_()), pa.field(f"{prefix}_reason", pa.string())]
        if self.numeric:
            fields += [pa.field(name, pa.float64()) for name in NUMERIC_SIGNALS]
        return pa.schema(fields)

    def descriptions(self) -> dict[str, str]:
        from curation.signals import numeric

        described = {}
        for prefix, cls, what in FILTERS:
            settings = self.thresholds.get(prefix)
            with_settings = f" ({', '.join(f'{k}={v!r}' for k, v in settings.items())})" if settings else ""
            described[f"{prefix}_pass"] = f"datatrove {cls}{with_settings} keeps the document: {what}"
            described[f"{prefix}_reason"] = f"datatrove {cls} reason when it drops the document, else null"
        if self.numeric:
            described.update(numeric.DESCRIPTIONS)
        return described

    def config(self) -> dict[str, Any]:
        from importlib.metadata import version

        from curation.signals.numeric import NUMERIC_SIGNALS

        config = {
            "datatrove": version("datatrove"),
            "filters": [cls for _, cls, _ in FILTERS],
            "numeric_signals": list(NUMERIC_SIGNALS) if self.numeric else [],
        }
        if self.thresholds:  # datatrove's defaults leave the config (and so existing sets' identity) as it was
            config["thresholds"] = self.thresholds
        return config

    def compute(self, batch) -> dict[str, Any]:
        from curation.signals.numeric import NUMERIC_SIGNALS, compute_numeric_signals

        if self._filters is None:
            self._filters = HeuristicFilters(self.thresholds)
        texts = batch.column("text").to_pylist()
        columns = self._filters.verdicts(texts, batch.column("id").to_pylist())
        if self.numeric:
            rows = [compute_numeric_signals(text) for text in texts]
            for name in NUMERIC_SIGNALS:
                columns[name] = [row[name] for row in rows]
        return columns
