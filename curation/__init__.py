"""curation: a meta-learned data-curation pipeline for LLM pre-training."""

__version__ = "0.1.0"
