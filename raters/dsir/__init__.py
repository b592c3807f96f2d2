"""DSIR (Xie et al., 2023, "Data Selection for Language Models via Importance Resampling"): how much more
likely a document is under a bag of hashed n-grams fitted on target text than under one fitted on raw text.

- ``features``: the document's hashed word unigram and bigram counts (DSIR's feature definition);
- ``model``: ``DsirModel``, the two smoothed n-gram distributions and the per-document log ratio;
- ``fitting``: ``curate raters dsir fit`` (held-out separation, MLflow run, model directory);
- ``scoring``: ``DsirScores``, the attribute producer behind ``curate raters dsir score`` (``dsir_log_ratio``).

Where this deviates from DSIR's code (``p-lambda/dsir``) is said in ``model`` and ``features``.
"""
