"""`curate ingest`: web corpora (WARC/WET/JSONL/Parquet) into a sharded Parquet corpus, with Spark."""
