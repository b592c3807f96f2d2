"""Accuracy of the offline language ID (fastText lid.176.ftz, shipped in curation/text/models) on real pages.

Labelled sample, built from ../shared/data without any hand labelling:
- the 923 pages of ``web/trafilatura-eval-pages.warc.gz`` whose ``<html lang="xx">`` attribute names a
  language (the author's own declaration; region suffixes such as ``de-DE`` are dropped). The text is
  what ``curate ingest`` keeps: Resiliparse main text, normalised. Pages whose declaration is missing or
  is not a language code are skipped and counted.
- ``reference/enwiki-6514-articles.jsonl.gz``: the first N English Wikipedia articles, label ``en``.

Declared ``lang`` attributes are sometimes wrong (templates left at ``en``); disagreements are listed
in the JSON so a reader can judge. Reported: accuracy overall and per declared language, and accuracy
restricted to predictions with probability >= 0.65 (the threshold used in rule examples) with the
fraction of pages that clear it.

    python benchmarks/langid_accuracy.py [--wiki 500] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path

from common import RESULTS, SHARED_DATA, markdown_table, provenance, write_results

DATA = SHARED_DATA
LANG_ATTR = re.compile(rb"<html[^>]*?\slang\s*=\s*[\"']?([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)?[\"'\s>]", re.IGNORECASE)
THRESHOLD = 0.65


def labelled_pages():
    from warcio.archiveiterator import ArchiveIterator

    from curation.text.extract import HtmlExtractor, html_to_str
    from curation.text.normalize import normalize_text

    extractor = HtmlExtractor("resiliparse")
    skipped = 0
    with open(DATA / "web" / "trafilatura-eval-pages.warc.gz", "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            payload = record.content_stream().read()
            match = LANG_ATTR.search(payload[:20000])
            if not match:
                skipped += 1
                continue
            text = normalize_text(extractor.extract(html_to_str(payload)))
            if not text:
                skipped += 1
                continue
            yield "web", match.group(1).decode().lower(), text, record.rec_headers.get_header("WARC-Target-URI")
    yield "skipped", str(skipped), "", ""


def wiki_articles(n: int):
    with gzip.open(DATA / "reference" / "enwiki-6514-articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            article = json.loads(line)
            yield "wiki", "en", article["text"], article.get("url", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wiki", type=int, default=500, help="English Wikipedia articles to add (label en)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where langid_accuracy.json/.md go")
    args = parser.parse_args()
    from curation.text.langid import LanguageIdentifier

    lid = LanguageIdentifier()
    rows, skipped = [], 0
    started = time.perf_counter()
    for source, label, text, url in [*labelled_pages(), *wiki_articles(args.wiki)]:
        if source == "skipped":
            skipped = int(label)
            continue
        predicted, score = lid.predict(text)
        rows.append(
            {"source": source, "label": label, "predicted": predicted, "score": score, "url": url, "chars": len(text)}
        )
    seconds = time.perf_counter() - started

    def accuracy(items):
        return sum(r["label"] == r["predicted"] for r in items) / max(1, len(items))

    per_language = Counter(r["label"] for r in rows)
    table = []
    for source in ("web", "wiki"):
        subset = [r for r in rows if r["source"] == source]
        confident = [r for r in subset if (r["score"] or 0) >= THRESHOLD]
        table.append([source, len(subset), accuracy(subset), len(confident) / max(1, len(subset)), accuracy(confident)])
    by_lang = []
    for lang, n in per_language.most_common():
        subset = [r for r in rows if r["label"] == lang]
        by_lang.append([lang, n, accuracy(subset)])
    disagreements = [r for r in rows if r["label"] != r["predicted"]]
    result = {
        **provenance(["fasttext-numpy2-wheel"]),
        "model": str(lid.model_path),
        "threshold": THRESHOLD,
        "pages_without_usable_lang_attribute": skipped,
        "by_source": [
            dict(zip(["source", "n", "accuracy", "fraction_confident", "accuracy_confident"], row, strict=True))
            for row in table
        ],
        "by_declared_language": [dict(zip(["lang", "n", "accuracy"], row, strict=True)) for row in by_lang],
        "disagreements": disagreements,
        "seconds": round(seconds, 1),
    }
    lines = [
        "# Language ID accuracy (fastText lid.176.ftz, offline)",
        "",
        f"- date (UTC): {result['date']}; command: `{result['command']}`",
        f"- labels: web pages' own `<html lang>` declaration ({skipped} pages without a usable one skipped); Wikipedia = en",
        "",
        markdown_table(
            ["sample", "documents", "accuracy", f"share with p ≥ {THRESHOLD}", f"accuracy when p ≥ {THRESHOLD}"],
            table,
            digits=3,
            large=math.inf,
        ),
        "",
        markdown_table(["declared language", "documents", "accuracy"], by_lang, digits=3, large=math.inf),
        "",
        f"{len(disagreements)} disagreements are listed in langid_accuracy.json (declared labels are sometimes wrong).",
    ]
    markdown = "\n".join(lines) + "\n"
    json_path, md_path = write_results(args.out_dir, "langid_accuracy", result, markdown)
    print(markdown, end="")
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
