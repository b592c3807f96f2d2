"""Meta-rater (Zhuang et al., "Meta-rater: A Multi-dimensional Data Selection Method for Pre-training Language
Models", ACL 2025): many quality scores per document, combined with weights learned by regressing the
held-out loss of proxy models trained on selections made with sampled weightings.

Modules, in the order the method uses them: ``score_table`` (the scores of a corpus, aligned by ``id``),
``scaling`` (each score to [0, 5]), ``dirichlet`` (weight vectors), ``proxy_runs`` (a proxy per weighting),
``regression`` (LightGBM: weights -> loss), ``search`` (the best weights among many candidates), ``fit``
(all of it as ``curate metarater fit``) and ``select`` (``curate metarater select``).
"""
