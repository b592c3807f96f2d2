"""DataRater (Calian et al., 2025): a rater meta-learned so that training on its re-weighted batches
lowers held-out loss.

- ``model``: the rater, a bidirectional transformer over a token sequence -> one score;
- ``weights``: ``BatchSoftmaxWeights``, softmax of the scores over the batch;
- ``differentiable_adam``: the inner models' Adam written as tensor operations, so the meta-gradient flows
  through inner updates;
- ``meta``: the population of inner proxies, the truncated unroll, per-member outer Adam, resets;
- ``filtering``: deployment: drop the bottom rho of an oversampled batch, or the equivalent per-document
  acceptance probability.

Deviations from the paper are listed in ``DEVIATIONS`` in ``meta`` and in ``docs/datarater.md``.
"""
