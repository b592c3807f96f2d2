"""Mixtures and score selections: target shares per source under a token budget (``curate mix``), and
top-fraction / top-k / token-budget keep flags on any numeric score column (``curate top``)."""
