"""Proxy language models: small causal transformers that DataRater, Meta-rater and validation train.

- ``config``: model sizes (``ProxyConfig``, named presets) and training settings (``TrainConfig``);
- ``tokenizer``: byte-level tokens (the default, nothing to download) or a BPE trained with ``tokenizers``;
- ``text_source``: documents from a corpus directory, JSONL, Parquet or plain text;
- ``packing``: documents to fixed-length sequences with a separator, byte counts per target token;
- ``model``: the transformer, its per-token / per-sequence losses and its functional (meta-learning) mode;
- ``evaluate``: bits per byte on held-out text and per-document bits per byte;
- ``train``: the training loop (AdamW, warmup + cosine, clipping, autocast on GPU), deterministic on CPU;
- ``checkpoint``: ``safetensors`` weights and optimiser state, committed by rename, resumable.
"""
