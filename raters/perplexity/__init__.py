"""Proxy perplexity, CCNet-style (Wenzek et al., 2020, "CCNet: Extracting High Quality Monolingual Datasets
from Web Crawl Data"): a language model trained on reference text (Wikipedia by default) scores every
document by how surprising it finds it; lower = more like the reference.

- ``model``: ``ProxyPerplexity``, a proxy LM from ``curation.proxy`` (fit / score / save / load);
- ``training``: ``curate raters perplexity train`` (held-out bits per byte, MLflow run, model directory);
- ``scoring``: ``PerplexityScores``, behind ``curate raters perplexity score`` (``proxy_bpb``).

Deviations from CCNet: CCNet uses a 5-gram KenLM over SentencePiece tokens and scores perplexity per
paragraph (then averages by document); here the model is the project's small causal transformer (byte-level
by default) and the score is the document's bits per byte, which compares across tokenizers. CCNet then
buckets documents into head/middle/tail by perplexity percentiles; that is a selection decision, left to
``curate select`` / Meta-rater.
"""
