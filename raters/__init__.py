"""Models that score documents (DataRater, Meta-rater, fastText quality, ...). Raters never import pipelines."""
