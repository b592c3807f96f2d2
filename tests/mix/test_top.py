"""`curate top` on real text: the right documents for a fraction, k or token budget; ties by id; NaN last;
the flags compose with `select` (dropped documents in rejects/ with the clause top_keep)."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from curation.attribute_stage import AttributeProducer, run_attribute_stage
from curation.corpus import Corpus
from curation.errors import ConfigError
from curation.mix.config import TopConfig
from curation.mix.top import run_top
from curation.select.job import run_select


class Paragraphs(AttributeProducer):
    """A score with many ties and some undefined values: paragraphs per document, NaN for one-paragraph ones."""

    name = "paragraphs"
    version = "v1"

    def output_schema(self):
        return pa.schema([pa.field("paragraphs", pa.float64())])

    def compute(self, batch):
        counts = [len([p for p in t.split("\n") if p.strip()]) for t in batch.column("text").to_pylist()]
        return {"paragraphs": [float(n) if n > 1 else math.nan for n in counts]}


@pytest.fixture(scope="module")
def scored(sources_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("top") / "paragraphs"
    attrs = run_attribute_stage(sources_corpus.root, Paragraphs(), out, master="local[2]", tracking=False)
    table = attrs.read(["id", "paragraphs"]).to_pylist()
    n_bytes = dict(
        zip(*sources_corpus.read_documents(["id", "n_bytes"]).to_pydict().values(), strict=True)  # id -> n_bytes
    )
    rows = [(r["id"], r["paragraphs"], n_bytes[r["id"]]) for r in table]
    assert sum(math.isnan(s) for _, s, _ in rows) >= 5  # real one-paragraph documents
    return attrs, rows


def _best_first(rows, lower=False):
    # NaN never compares, so it must not reach the tuple comparison (or ties among NaN would skip the id)
    return sorted(rows, key=lambda r: (math.isnan(r[1]), 0.0 if math.isnan(r[1]) else r[1] if lower else -r[1], r[0]))


def _kept(result) -> set[str]:
    table = result.attributes.read(["id", "top_keep"]).to_pylist()
    return {r["id"] for r in table if r["top_keep"]}


def test_k_fraction_and_tokens_keep_the_best_ties_by_id(sources_corpus, scored, tmp_path):
    attrs, rows = scored
    order = _best_first(rows)
    k = next(i for i in range(20, len(order)) if order[i - 1][1] == order[i][1])  # a tie across the cut
    result = run_top(sources_corpus.root, [attrs.root], tmp_path / "k", TopConfig("paragraphs", k=k), tracking=False)
    assert _kept(result) == {r[0] for r in order[:k]}
    fraction = run_top(
        sources_corpus.root, [attrs.root], tmp_path / "f", TopConfig("paragraphs", fraction=0.25), tracking=False
    )
    assert _kept(fraction) == {r[0] for r in order[: round(0.25 * len(rows))]}
    budget, total, count = 100_000, 0, 0
    while count < len(order) and total + order[count][2] <= budget:
        total, count = total + order[count][2], count + 1
    tokens = run_top(
        sources_corpus.root, [attrs.root], tmp_path / "t", TopConfig("paragraphs", tokens="100k"), tracking=False
    )
    assert _kept(tokens) == {r[0] for r in order[:count]} and tokens.kept_tokens == total <= budget
    ranks = {r["id"]: r["top_rank"] for r in tokens.attributes.read(["id", "top_rank"]).to_pylist()}
    assert [ranks[r[0]] for r in order] == list(range(1, len(order) + 1))  # NaN ranked last
    again = run_top(sources_corpus.root, [attrs.root], tmp_path / "k", TopConfig("paragraphs", k=k), tracking=False)
    assert again.skipped and _kept(again) == _kept(result)


def test_lower_is_better_on_a_corpus_column(sources_corpus, tmp_path):
    rows = [
        (r["id"], float(r["n_bytes"]), r["n_bytes"])
        for r in sources_corpus.read_documents(["id", "n_bytes"]).to_pylist()
    ]
    cfg = TopConfig("n_bytes", k=30, lower_is_better=True)
    result = run_top(sources_corpus.root, [], tmp_path / "short", cfg, tracking=False)
    assert _kept(result) == {r[0] for r in _best_first(rows, lower=True)[:30]}
    assert result.attributes.manifest["config"]["score"] == {"column": "n_bytes", "from": "corpus"}


def test_flags_compose_with_select(sources_corpus, scored, tmp_path):
    attrs, rows = scored
    flags = run_top(
        sources_corpus.root, [attrs.root], tmp_path / "flags", TopConfig("paragraphs", fraction=0.5), tracking=False
    )
    result = run_select(
        sources_corpus.root,
        [str(flags.attributes.root)],
        "n_bytes > 400 and top_keep",
        tmp_path / "sel",
        tracking=False,
    )
    best = _kept(flags)
    selected = Corpus.open(result.out)
    expected = {r[0] for r in rows if r[2] > 400 and r[0] in best}
    assert {r["id"] for r in selected.read_documents(["id"]).to_pylist()} == expected
    rejects = selected.read_rejects().to_pylist()
    by_top = {r["locator"].removeprefix("id=") for r in rejects if r["detail"] == "clause 2: top_keep"}
    assert by_top == {r[0] for r in rows if r[2] > 400 and r[0] not in best} and by_top
    assert len(rejects) + len(expected) == sources_corpus.num_documents


def test_bad_top_settings_fail_fast(sources_corpus, scored, tmp_path):
    attrs, _ = scored
    with pytest.raises(ConfigError, match="exactly one of"):
        TopConfig("paragraphs", fraction=0.5, k=3)
    with pytest.raises(ConfigError, match="--fraction must be in"):
        TopConfig("paragraphs", fraction=1.5)
    with pytest.raises(ConfigError, match="unknown column"):
        run_top(sources_corpus.root, [attrs.root], tmp_path / "x", TopConfig("quality", k=3), tracking=False)
    with pytest.raises(ConfigError, match="numeric column"):
        run_top(sources_corpus.root, [attrs.root], tmp_path / "x", TopConfig("source", k=3), tracking=False)
    assert not (tmp_path / "x").exists()
