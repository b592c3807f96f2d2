"""The largest real pool of documents the shared data allows, for the curation-quality benchmarks, and the
texts kept out of it (held-out sets, rater reference text). Seeded; nothing is invented.

Pool (every document's kind is recoverable: ``?kind=`` in its URL, or else its source file's name):
- every web file in ``<shared>/data/web/`` that ``curate ingest`` reads (WARC, WET, or JSON Lines whose first
  record has a ``text``), found by listing the folder, so a file added there joins the pool with no code
  change. The C4 sample is the one exception: its first ``c4_docs`` documents join the pool (kind ``c4``)
  and the rest are the held-out C4 set;
- the English web documents of ``labels/register-core-en`` (kind ``register-core``), labels unused;
- ``wiki_docs`` Wikipedia articles as they are (kind ``wiki``) and ``wiki_docs`` other articles with half
  their text corrupted by one of ``curation.text.corruption``'s kinds, in turn (kind = the corruption).

Kept out of the pool: the held-out C4 documents; every Wikipedia article whose title heads an article of
WikiText-2 validation or test (the held-out set); and ``reference_docs`` further articles, split in two:
``reference.jsonl`` (rater reference text: DSIR target, fastText positives, perplexity proxy, DataRater's
clean outer-loss target) and ``fit-heldout.jsonl`` (the held-out loss of Meta-rater's proxy runs).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from common import SHARED_DATA

C4_FILE = "c4-en-sample-1000.jsonl.gz"
WIKI_FILE = "reference/enwiki-6514-articles.jsonl.gz"
REGISTER_FILE = "labels/register-core-en/core-en-2780.jsonl.gz"
WIKITEXT_FILES = ("reference/wikitext-2-valid.txt", "reference/wikitext-2-test.txt")
WIKI_CHARS = 6000  # articles are cut here, as in the earlier pool
CORRUPTED_SHARE = 0.5


@dataclass
class Pool:
    jsonl: Path  # the documents built here (C4 part, register, Wikipedia), one JSON object per line
    web_files: list[Path]  # raw web files ingested as they are
    c4_heldout: Path
    reference: Path
    fit_heldout: Path
    make_up: dict[str, int | None] = field(default_factory=dict)  # source -> records (None: WARC, ingest counts)
    wikitext_articles_excluded: int = 0

    @property
    def ingest_inputs(self) -> list[str]:
        return [str(self.jsonl), *(str(p) for p in self.web_files)]


def _first_record_has_text(path: Path) -> bool:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            record = json.loads(fh.readline())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and isinstance(record.get("text"), str)


def web_files(data: Path = SHARED_DATA) -> list[Path]:
    """Every file of ``data/web`` that ``curate ingest`` reads as web documents, sorted by name."""
    from curation.readers.detect import detect_format

    found = []
    for path in sorted((data / "web").iterdir()):
        kind = detect_format(str(path)) if path.is_file() else None
        if kind == "warc" or (kind == "jsonl" and _first_record_has_text(path)):
            found.append(path)
    return found


def _jsonl_records(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _count_records(path: Path) -> int | None:
    """Records of a JSON Lines file; None for WARC/WET (ingest counts those)."""
    if not _first_record_has_text(path):
        return None
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def wikitext_titles(data: Path = SHARED_DATA) -> set[str]:
    """Titles of the WikiText-2 validation and test articles (their `` = Title = `` heading lines)."""
    titles = set()
    for name in WIKITEXT_FILES:
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            match = re.fullmatch(r" = ([^=].*[^=]) = ", line)
            if match:
                titles.add(match.group(1).replace(" @-@ ", "-").replace(" , ", ", ").strip())
    return titles


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def build_pool(
    work: Path, *, c4_docs: int = 800, wiki_docs: int = 1000, reference_docs: int = 400, seed: int = 0,
    data: Path = SHARED_DATA,
) -> Pool:  # fmt: skip
    """Write the pool's own documents and the held-out and reference texts into ``work``."""
    from curation.text.corruption import CORRUPTIONS

    work.mkdir(parents=True, exist_ok=True)
    make_up: dict[str, int | None] = {}
    c4_lines = gzip.decompress((data / "web" / C4_FILE).read_bytes()).splitlines()
    c4_heldout = work / "c4-heldout.jsonl"
    c4_heldout.write_bytes(b"\n".join(c4_lines[c4_docs:]) + b"\n")
    records = [
        {**json.loads(line), "id": f"c4-{i}", "url": f"https://c4.invalid/{i}?kind=c4"}
        for i, line in enumerate(c4_lines[:c4_docs])
    ]
    make_up["c4"] = len(records)
    register = _jsonl_records(data / REGISTER_FILE)
    records += [
        {"id": r["id"], "text": r["text"], "url": f"https://register.invalid/{r['id']}?kind=register-core"}
        for r in register
    ]
    make_up["register-core"] = len(register)

    held_titles = wikitext_titles(data)
    every_article = [a for a in _jsonl_records(data / WIKI_FILE) if a["text"].strip()]
    articles = [a for a in every_article if a["title"] not in held_titles]
    order = random.Random(seed).sample(range(len(articles)), 2 * wiki_docs + reference_docs)
    rng = random.Random(seed)
    kinds = sorted(CORRUPTIONS)
    for n, index in enumerate(order[: 2 * wiki_docs]):
        text = articles[index]["text"][:WIKI_CHARS]
        if n < wiki_docs:
            records.append({"id": f"wiki-{n}", "text": text, "url": f"https://wiki.invalid/{n}?kind=wiki"})
        else:
            kind = kinds[n % len(kinds)]
            noisy = CORRUPTIONS[kind](text, CORRUPTED_SHARE, rng)
            records.append({"id": f"noisy-{n}", "text": noisy, "url": f"https://wiki.invalid/{n}?kind={kind}"})
    make_up["wiki"] = wiki_docs
    make_up["wiki, corrupted"] = wiki_docs
    reference = [{"text": articles[i]["text"][:WIKI_CHARS]} for i in order[2 * wiki_docs :]]
    half = reference_docs // 2
    files = [path for path in web_files(data) if path.name != C4_FILE]
    for path in files:
        make_up[path.name] = _count_records(path)
    return Pool(
        jsonl=_write_jsonl(work / "pool.jsonl", records),
        web_files=files,
        c4_heldout=c4_heldout,
        reference=_write_jsonl(work / "reference.jsonl", reference[:half]),
        fit_heldout=_write_jsonl(work / "fit-heldout.jsonl", reference[half:]),
        make_up=make_up,
        wikitext_articles_excluded=len(every_article) - len(articles),
    )


def kind_of(url: str | None, source: str | None) -> str:
    """A pool document's kind: ``?kind=`` of its URL, else its source file's name up to the first dot."""
    if url and "?kind=" in url:
        return url.split("?kind=")[1]
    return Path(source or "unknown").name.split(".")[0]


def document_kinds(corpus_dir: Path) -> tuple[list[str], list[str]]:
    """The ids and kinds of an ingested pool's documents, in corpus order."""
    from curation.corpus import Corpus

    documents = Corpus.open(corpus_dir).read_documents(["id", "url", "source"])
    urls, sources = documents.column("url").to_pylist(), documents.column("source").to_pylist()
    return documents.column("id").to_pylist(), [kind_of(u, s) for u, s in zip(urls, sources, strict=True)]
