"""Cluster entry points: spark-submit scripts and a local standalone cluster for tests."""
