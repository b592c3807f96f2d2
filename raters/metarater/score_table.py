"""The quality scores of a corpus as one matrix: a row per document (corpus order), a column per score.

Scores come from attribute sets (``curate signals``, ``curate raters ...``, ``curate datarater score``),
each checked against the corpus it describes and aligned part by part on ``id``. Which columns are scores,
and which way is better, is said once here: ``SCORE_DIRECTIONS`` lists the known ones; any other numeric
or true/false (read as 1/0) column can be named with ``--column`` (higher = better unless
``--lower-is-better`` names it).

Classifier raters write two columns: ``dim_<name>`` (the expected class) and ``dim_<name>_class`` (the
argmax). The paper uses the argmax class; ``classifier_output="expected"`` uses the expectation instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curation.errors import ConfigError, CorpusError

# Known score columns and the direction in which a document is better. The RedPajama-v2 signals carry no
# built-in direction; these follow what each measures (repetition, symbols, digits and capitals are worse
# when high). Length and diversity signals are taken as "higher is better", the reading the paper's
# weighting implies (its weights are non-negative): their weight is learned, so a useless one ends near 0.
SCORE_DIRECTIONS: dict[str, str] = {
    "doc_unigram_entropy": "higher",
    "doc_frac_no_alph_words": "lower",
    "lines_uppercase_letter_fraction": "lower",
    "doc_mean_word_length": "higher",
    "doc_frac_chars_top_2gram": "lower",
    "doc_word_count": "higher",
    "doc_frac_chars_top_3gram": "lower",
    "doc_num_sentences": "higher",
    "lines_numerical_chars_fraction": "lower",
    "doc_frac_unique_words": "higher",
    "lines_ending_with_terminal_punctuation_mark": "higher",
    "dsir_log_ratio": "higher",
    "fasttext_quality": "higher",
    "proxy_bpb": "lower",
    "datarater_score": "higher",
    # the hand rules' verdicts (``curate signals``), as 0/1: a weighted sum can then lean on a rule where the
    # proxy runs say it helps. Not in the paper, whose 25 scores are all graded.
    "gopher_quality_pass": "higher",
    "gopher_repetition_pass": "higher",
    "c4_quality_pass": "higher",
    "fineweb_quality_pass": "higher",
}
DIMENSION_EXPECTED = re.compile(r"^dim_(?!.*_class$)\w+$")
DIMENSION_CLASS = re.compile(r"^dim_\w+_class$")
CLASSIFIER_OUTPUTS = ("argmax", "expected")


@dataclass
class ScoreTable:
    ids: list[str]
    n_bytes: np.ndarray  # int64 [n]: UTF-8 bytes of each document
    columns: list[str]
    values: np.ndarray  # float64 [n, k], NaN where a score is undefined
    lower_is_better: list[bool]
    sources: dict[str, dict] = field(default_factory=dict)  # column -> its attribute set's provenance
    shard_rows: list[int] = field(default_factory=list)

    @property
    def num_documents(self) -> int:
        return len(self.ids)


def _is_default_score(name: str, classifier_output: str) -> bool:
    if name in SCORE_DIRECTIONS:
        return True
    if classifier_output == "argmax":
        return bool(DIMENSION_CLASS.match(name))
    return bool(DIMENSION_EXPECTED.match(name))


def load_score_table(
    corpus_dir: str | Path,
    attribute_dirs: list[str | Path],
    *,
    columns: list[str] | None = None,
    lower_is_better: list[str] | None = None,
    classifier_output: str = "argmax",
) -> ScoreTable:
    """Read the scores of ``corpus_dir`` from ``attribute_dirs`` (fails fast on anything inconsistent)."""
    import pyarrow as pa

    from curation.attributes import AttributeSet
    from curation.corpus import Corpus, read_parquet
    from curation.staged_folder import folder_location

    if classifier_output not in CLASSIFIER_OUTPUTS:
        raise ConfigError(f"classifier output must be one of {CLASSIFIER_OUTPUTS}, not {classifier_output!r}")
    if not attribute_dirs:
        raise ConfigError("give at least one attribute set of scores (--attributes DIR)")
    corpus = Corpus.open(corpus_dir)
    sets = [AttributeSet.open(d, corpus) for d in attribute_dirs]
    numeric: dict[str, AttributeSet] = {}
    for attribute_set in sets:
        for column in attribute_set.manifest["columns"]:
            kind = column["type"]
            if kind.startswith(("float", "double", "int", "uint", "halffloat", "bool")):
                if column["name"] in numeric:
                    raise ConfigError(
                        f"column {column['name']!r} is in both {numeric[column['name']].root} and {attribute_set.root}"
                    )
                numeric[column["name"]] = attribute_set
    wanted = columns or [name for name in numeric if _is_default_score(name, classifier_output)]
    missing = [name for name in wanted if name not in numeric]
    if missing:
        raise ConfigError(f"no numeric column {missing} in the attribute sets; available: {sorted(numeric)}")
    if not wanted:
        raise ConfigError(f"no known quality score in the attribute sets (numeric columns: {sorted(numeric)})")
    lower = set(lower_is_better or [])
    unknown = lower - set(wanted)
    if unknown:
        raise ConfigError(f"--lower-is-better names columns that are not scores here: {sorted(unknown)}")
    flips = [name in lower or SCORE_DIRECTIONS.get(name) == "lower" for name in wanted]

    ids: list[str] = []
    sizes: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    shard_rows: list[int] = []
    by_set: dict[Path | str, list[str]] = {}
    for name in wanted:
        by_set.setdefault(numeric[name].root, []).append(name)
    set_of = {s.root: s for s in sets}
    for shard, path in enumerate(corpus.shard_paths):
        documents = read_parquet(path, columns=["id", "n_bytes"])
        block = np.empty((documents.num_rows, len(wanted)), dtype=np.float64)
        for root, names in by_set.items():
            part = read_parquet(set_of[root].part_path(shard), columns=["id", *names])
            if not part.column("id").equals(documents.column("id")):
                raise CorpusError(f"{set_of[root].part_path(shard)}: ids do not match corpus shard {path}")
            for name in names:
                values = part.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
                block[:, wanted.index(name)] = values  # nulls arrive as NaN
        ids.extend(documents.column("id").to_pylist())
        sizes.append(documents.column("n_bytes").to_numpy(zero_copy_only=False).astype(np.int64))
        blocks.append(block)
        shard_rows.append(documents.num_rows)
    sources = {
        name: {
            "attribute_set": folder_location(numeric[name].root),
            "name": numeric[name].name,
            "config_hash": numeric[name].manifest.get("config_hash"),
            "mlflow_run_id": numeric[name].manifest.get("mlflow_run_id"),
        }
        for name in wanted
    }
    return ScoreTable(
        ids=ids,
        n_bytes=np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64),
        columns=list(wanted),
        values=np.concatenate(blocks) if blocks else np.zeros((0, len(wanted))),
        lower_is_better=flips,
        sources=sources,
        shard_rows=shard_rows,
    )
