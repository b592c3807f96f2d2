"""Dimension raters (Meta-rater's PRRC: professionalism, readability, reasoning, cleanliness; Zhuang et al.,
2025): one classifier per quality dimension, trained from annotations scored 0-5, scoring each document with
its expected score sum_c c * P(c) and its most likely class.

- ``annotations``: reading the labelled JSONL (bad lines reported with file:line and skipped);
- ``model``: ``DimensionRater``, a fastText classifier over the classes 0..5 (fit / score / save / load);
- ``training``: ``curate raters dimension train`` (held-out macro-F1, accuracy, Spearman; MLflow; model dir);
- ``scoring``: ``DimensionScores``, behind ``curate raters dimension score`` (``dim_<name>``, ``dim_<name>_class``).

Deviation from Meta-rater: its PRRC raters are ModernBERT models fine-tuned on ~747k documents annotated
by Llama-3.3-70B; here the model is a fastText bag of words and bigrams (offline, CPU, seconds to train),
trained from whatever annotations the user has. It learns lexical cues well (boilerplate, garbled text,
jargon) and structure poorly, so expect a weaker rater for reasoning than for cleanliness.
"""
