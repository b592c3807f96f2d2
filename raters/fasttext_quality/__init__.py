"""A fastText quality classifier, DCLM-style (Li et al., 2024, "DataComp-LM"): a linear bag-of-words-and-bigrams
classifier trained to tell high-quality reference text (``__label__hq``) from raw web text (``__label__lq``);
a document's score is P(hq).

- ``supervised``: fastText training and prediction shared with the dimension raters (installation check,
  one-line text, seeded single-thread training, full label distributions, stratified held-out split);
- ``model``: ``QualityClassifier`` (fit / score / save / load);
- ``training``: ``curate raters fasttext train`` (held-out metrics, MLflow run, model directory);
- ``scoring``: ``FastTextQualityScores``, behind ``curate raters fasttext score`` (``fasttext_quality``).

Deviations from DCLM: DCLM's positives are OpenHermes 2.5 and ELI5 answers and its negatives RefinedWeb;
here any two text sources are given (the documented default: Wikipedia vs the raw pool). DCLM trains with
fastText's defaults (2M hash buckets, several threads); here the model is smaller (``--bucket 100000``,
``--dim 32``; 13 MB), trains longer with a higher rate (``--epoch 10 --lr 0.5``: fastText's defaults
underfit a few thousand documents) and on one thread, so a seed gives the same model every time.
"""
