"""The four datatrove filters run in an order that lets datatrove's split cache serve three of them: the
verdicts and columns are those of the columns' order, with one whole-document word split instead of two."""

import gzip
import json
from itertools import islice

from curation.signals.heuristics import FILTERS, HeuristicFilters
from tests.conftest import shared


def _c4_texts(n: int) -> list[str]:
    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in islice(fh, n)]


def test_run_order_changes_no_verdict_and_tokenises_each_document_once(monkeypatch):
    from datatrove.utils.word_tokenizers import SpaCyTokenizer

    calls = []
    real = SpaCyTokenizer.word_tokenize
    monkeypatch.setattr(SpaCyTokenizer, "word_tokenize", lambda self, text: calls.append(text) or real(self, text))
    texts = _c4_texts(40)
    ids = [str(i) for i in range(len(texts))]
    reordered = HeuristicFilters()
    assert [prefix for prefix, _ in reordered.run_order][-1] == "c4_quality"
    in_column_order = HeuristicFilters()
    in_column_order.run_order = in_column_order.filters

    calls.clear()
    expected = in_column_order.verdicts(texts, ids)
    tokenised_in_column_order = len(calls)
    calls.clear()
    got = reordered.verdicts(texts, ids)
    assert got == expected
    assert list(got) == [f"{prefix}_{part}" for prefix, _, _ in FILTERS for part in ("pass", "reason")]
    assert len(calls) == len(texts)  # one word split per document, shared by three filters
    # in the columns' order, C4's sentence splits push the word split out of the cache for most documents (all
    # but the shortest), and FineWeb's filter tokenises them again
    assert 1.5 * len(texts) < tokenised_in_column_order <= 2 * len(texts)
